"""Fixtures of the report/export tests (data built in :mod:`report_inputs`)."""

from __future__ import annotations

from report_inputs import hostile_inputs, version_inputs

__all__ = ["hostile_inputs", "version_inputs"]
