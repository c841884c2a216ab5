"""Regression audits (per-group MAE, RMSE, mean prediction); see :mod:`audits.multiclass`."""

from __future__ import annotations

from audits.multiclass import audit_regression, regression_metrics

__all__ = ["audit_regression", "regression_metrics"]
