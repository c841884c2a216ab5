"""ROC AUC with a confidence interval, overall and per group.

The threshold-free metric of a published result: the Mann-Whitney
statistic with average ranks for ties and the Hanley & McNeil standard
error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["roc_auc", "grouped_auc"]


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Return 1-based ranks with ties given their average rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float | None, list[float] | None]:
    """Return ROC AUC and a 95 % interval (None when one class is absent).

    The AUC is the Mann-Whitney statistic with average ranks for ties; the
    interval uses the Hanley & McNeil (1982) standard error, "The meaning
    and use of the area under a ROC curve", Radiology 143(1), 29-36.
    """
    y = np.asarray(labels, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None, None
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    auc = float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n0 - 1) * (q2 - auc * auc)) / (n1 * n0)
    half = 1.959963984540054 * float(np.sqrt(max(var, 0.0)))
    return auc, [max(0.0, auc - half), min(1.0, auc + half)]


def grouped_auc(frame: pa.Table, features: Sequence[str]) -> dict[tuple[str, str], dict]:
    """Return ``{(feature, group): {"value", "ci"}}``: ROC AUC per group ("(missing)" too)."""
    y = frame.column("label").to_numpy()
    s = frame.column("score").to_numpy()
    out: dict[tuple[str, str], dict] = {}
    for feature in features:
        members = feature.split("&")
        keys = [pc.cast(frame.column(m), pa.string()).fill_null("(missing)").to_numpy(
            zero_copy_only=False) for m in members]
        joined = keys[0] if len(keys) == 1 else np.array(
            ["&".join(p) for p in zip(*keys, strict=True)])
        # rows of each group in table order, without one full-length mask per group
        groups, inverse = np.unique(joined, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(groups)))])
        for k, group in enumerate(groups):
            rows = order[bounds[k]:bounds[k + 1]]
            value, ci = roc_auc(y[rows], s[rows])
            out[(feature, str(group))] = {"value": value, "ci": ci}
    return out
