"""Label bias before any model: base rates per group and demographic parity of the labels.

The base rate of a group is the share of its labelled rows whose label is
positive (AIF360 ``BinaryLabelDatasetMetric.base_rate``). Demographic parity
of the labels compares the base rates of the groups with at least
``min_group_size`` labelled rows: the difference ``max - min`` and the ratio
``min / max`` between the groups with the highest and the lowest rate
(fairlearn's ``between_groups`` method; AIF360's ``statistical_parity_difference``
and ``disparate_impact`` for that pair of groups, taking the lower-rate group
as unprivileged). Intervals: Wilson for each base rate, and a percentile
bootstrap (multinomial over the label counts of the compared groups, seeded)
for the difference and the ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from audits.uncertainty import bootstrap_cells, feature_rng, percentile_interval, wilson_interval

__all__ = ["base_rate_rows", "label_parity", "N_BOOT"]

#: Bootstrap replicates of the label parity intervals.
N_BOOT = 1000


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def base_rate_rows(
    feature: str, groups: Sequence[str], n: np.ndarray, labelled: np.ndarray,
    positives: np.ndarray, min_group_size: int,
) -> list[dict[str, Any]]:
    """Return one row per group: rows, labelled rows, positives, base rate with Wilson CI."""
    low, high = wilson_interval(positives, labelled)
    rows = []
    for i, group in enumerate(groups):
        rate = positives[i] / labelled[i] if labelled[i] else float("nan")
        row: dict[str, Any] = {
            "feature": feature, "group": group, "n": int(n[i]), "labelled": int(labelled[i]),
            "positives": int(positives[i]), "base_rate": _num(rate),
            "ci": [float(low[i]), float(high[i])] if labelled[i] else None,
            "small": bool(labelled[i] < min_group_size),
        }
        if not labelled[i]:
            row["undefined"] = "no labelled rows in the group"
        rows.append(row)
    return rows


def label_parity(
    rows: list[dict[str, Any]], *, seed: int, index: int, n_boot: int = N_BOOT
) -> dict[str, Any]:
    """Return the label demographic parity difference and ratio with bootstrap CIs.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`base_rate_rows` for one feature or intersection.
    seed, index : int
        Seed and feature index of the bootstrap generator.
    n_boot : int
        Replicates.

    Returns
    -------
    dict
        ``difference``, ``ratio`` (each ``{"value", "ci"}``), ``between`` (the
        lowest- and highest-rate groups) and ``compared`` (groups used); with
        ``undefined`` and values None when fewer than two groups qualify.
    """
    used = [r for r in rows if not r["small"] and r["base_rate"] is not None]
    if len(used) < 2:
        return {"difference": {"value": None, "ci": None}, "ratio": {"value": None, "ci": None},
                "compared": [r["group"] for r in used],
                "undefined": "fewer than two groups with enough labelled rows"}
    pos = np.array([r["positives"] for r in used], dtype=np.float64)
    lab = np.array([r["labelled"] for r in used], dtype=np.float64)
    rates = pos / lab
    lo, hi = int(np.argmin(rates)), int(np.argmax(rates))
    raw = np.stack([pos, lab - pos], axis=-1)
    reps = bootstrap_cells(raw, n_boot, feature_rng(seed, index))
    with np.errstate(divide="ignore", invalid="ignore"):
        rep_rates = reps[..., 0] / reps.sum(axis=-1)
        rep_diff = np.fmax.reduce(rep_rates, axis=-1) - np.fmin.reduce(rep_rates, axis=-1)
        rep_ratio = np.fmin.reduce(rep_rates, axis=-1) / np.fmax.reduce(rep_rates, axis=-1)
    d_lo, d_hi, _ = percentile_interval(rep_diff)
    r_lo, r_hi, _ = percentile_interval(rep_ratio)
    ratio = rates[lo] / rates[hi] if rates[hi] > 0 else float("nan")
    return {
        "difference": {"value": float(rates[hi] - rates[lo]), "ci": [float(d_lo), float(d_hi)]},
        "ratio": {"value": _num(ratio), "ci": [_num(float(r_lo)), _num(float(r_hi))]},
        "between": [used[lo]["group"], used[hi]["group"]],
        "compared": [r["group"] for r in used],
        "method": "between_groups (max - min, min / max)",
    }
