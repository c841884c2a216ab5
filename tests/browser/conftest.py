"""Fixtures of the browser tests: headless Debian chromium (required under CI=true)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audits"))


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the chromium binary; fails under CI=true, skips locally when missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        message = "chromium not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


from report_inputs import hostile_inputs, version_inputs  # noqa: E402

__all__ = ["chromium", "hostile_inputs", "version_inputs"]
