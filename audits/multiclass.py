"""Multiclass labels audited one-vs-rest, and regression targets by group.

Multiclass: for each class ``c`` the binary problem "label is c" vs
"prediction is c" is derived from the per-group confusion matrix (so it is
still counts only and mergeable) and audited like any binary problem; every
group and disparity entry carries ``"class": c``.

Regression: per group the row count, mean prediction, mean label, MAE and
RMSE come from mergeable sums (sum of weights, of weighted predictions, of
weighted absolute and squared errors); disparities are the
``between_groups`` and ``to_overall`` differences of those means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audits import fairness as fm
from audits.counts import Counts, GroupCounts
from pipelines.errors import ArgumentError

__all__ = ["one_vs_rest", "audit_multiclass", "audit_regression", "regression_metrics"]


def one_vs_rest(counts: Counts, cls: str) -> Counts:
    """Return the binary counts of class ``cls`` against the rest.

    Parameters
    ----------
    counts : Counts
        Multiclass counts (cell axes: label class, predicted class).
    cls : str
        A class label of ``counts.cell_levels[0]``.

    Returns
    -------
    Counts
        Binary counts (label == cls, prediction == cls).
    """
    k = counts.cell_levels[0].index(cls)
    features = []
    for item in counts.features:
        m = len(item.members)
        t = item.table
        tp = t[..., k, k, :]
        pred_pos = t[..., :, k, :].sum(axis=m)
        label_pos = t[..., k, :, :].sum(axis=m)
        total = t.sum(axis=(m, m + 1))
        fp, fn = pred_pos - tp, label_pos - tp
        tn = total - tp - fp - fn
        table = np.stack([np.stack([tn, fp], axis=m), np.stack([fn, tp], axis=m)], axis=m)
        features.append(GroupCounts(item.members, item.levels, table))
    return Counts("binary", (("0", "1"), ("0", "1")), counts.stats, tuple(features))


def audit_multiclass(counts: Counts, *, n_boot: int, seed: int, min_group_size: int) -> Any:
    """Audit multiclass counts one-vs-rest per class.

    Parameters
    ----------
    counts : Counts
        Multiclass counts.
    n_boot, seed, min_group_size : int
        As for :func:`audits.engine.audit_counts`.

    Returns
    -------
    AuditResult
        ``metrics`` holds the multiclass accuracy and ``per_class`` metrics;
        ``groups`` and ``disparities`` entries carry ``"class"``.
    """
    from audits.engine import AuditResult, audit_counts

    if counts.task != "multiclass":
        raise ArgumentError("audit_multiclass needs multiclass counts", fix="count multiclass")
    groups, disparities, per_class = [], [], {}
    result = None
    for cls in counts.cell_levels[0]:
        result = audit_counts(one_vs_rest(counts, cls), n_boot=n_boot, seed=seed,
                              min_group_size=min_group_size)
        groups += [{"class": cls, **g} for g in result.groups]
        disparities += [{"class": cls, **d} for d in result.disparities]
        per_class[cls] = result.metrics
    overall = counts.overall()[..., -1]
    n = float(overall.sum())
    metrics = {"accuracy": {"value": float(np.trace(overall) / n) if n else None, "ci": None},
               "n": int(counts.overall()[..., 0].sum()), "per_class": per_class}
    assert result is not None
    return AuditResult(metrics, groups, disparities, result.bootstrap, counts,
                       {**result.extra, "classes": list(counts.cell_levels[0])})


def regression_metrics(table: np.ndarray) -> dict[str, np.ndarray]:
    """Return n, mean prediction, mean label, MAE and RMSE from regression sums ``(..., 6)``."""
    n, w, pred, label, abs_err, sq_err = (table[..., i] for i in range(6))
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(w > 0, w, 1.0)
        out = {
            "mean_prediction": np.where(w > 0, pred / safe, np.nan),
            "mean_label": np.where(w > 0, label / safe, np.nan),
            "mae": np.where(w > 0, abs_err / safe, np.nan),
            "rmse": np.where(w > 0, np.sqrt(sq_err / safe), np.nan),
        }
    out["n"] = n
    return out


def audit_regression(counts: Counts, *, min_group_size: int) -> Any:
    """Audit regression sums: per-group means and their differences (no intervals).

    Parameters
    ----------
    counts : Counts
        Regression counts.
    min_group_size : int
        Groups with fewer rows are flagged ``small``.

    Returns
    -------
    AuditResult
        With ``mean_prediction``, ``mean_label``, ``mae`` and ``rmse`` per group
        and their ``*_difference`` disparities.
    """
    from audits.engine import AuditResult

    names = ("mean_prediction", "mean_label", "mae", "rmse")
    overall = regression_metrics(counts.overall())
    groups: list[dict[str, Any]] = []
    disparities: list[dict[str, Any]] = []
    for item in counts.features:
        values = regression_metrics(item.flat())
        small = values["n"] < min_group_size
        for i, group in enumerate(item.groups):
            entry: dict[str, Any] = {"feature": item.feature, "group": group,
                                     "n": int(values["n"][i])}
            for name in names:
                v = float(values[name][i])
                entry[name] = {"value": v, "ci": None} if np.isfinite(v) else {
                    "value": None, "ci": None, "undefined": "no rows in the group (n = 0)"}
            entry.update({"suppressed": False, "small": bool(small[i])})
            groups.append(entry)
        for name in names:
            for method in ("between_groups", "to_overall"):
                d = float(fm.difference(values[name], overall[name], method))  # type: ignore[arg-type]
                disparities.append({
                    "feature": item.feature, "metric": f"{name}_difference", "method": method,
                    "value": d if np.isfinite(d) else None, "ci": None,
                    "low_confidence": bool((small & (values["n"] > 0)).any()),
                })
    metrics: dict[str, Any] = {n: {"value": float(overall[n]), "ci": None} for n in names}
    metrics["n"] = int(overall["n"])
    boot = {"n_boot": 0, "seed": None, "method": "none (regression)", "level": None}
    return AuditResult(metrics, groups, disparities, boot, counts,
                       {"min_group_size": min_group_size})
