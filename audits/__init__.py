"""fairledger audits: counts-first fairness metrics, disparities and intervals.

``import audits`` stays light: the public API is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["audit_predictions", "audit_counts", "count_confusion", "count_labels", "AuditResult"]

_LAZY = {
    "audit_predictions": "audits.engine",
    "audit_counts": "audits.engine",
    "AuditResult": "audits.engine",
    "count_confusion": "audits.counts",
    "count_labels": "audits.counts",
}


def __getattr__(name: str) -> Any:
    """Load the public API lazily."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audits' has no attribute {name!r}")
