"""Bootstrap replicates of one feature's disparities, in memory-bounded chunks.

The replicates of a feature with ``G`` groups form an ``(n_boot, G, 4)``
array, which for 100,000 groups and 1,000 replicates is 3 GB. Instead,
replicates are drawn ``chunk`` at a time (:func:`audits.uncertainty.iter_bootstrap_cells`,
at most :data:`CHUNK_CELLS` cells per chunk) and each chunk is reduced at once
to what the result needs: one value per replicate of every disparity and of
the overall balanced accuracy, and the balanced accuracy of every group (kept
as a ``(G, n_boot)`` array for its per-group percentile interval). Replicate
``k`` is the same whatever the chunk size, so the intervals are too.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from audits import fairness as fm
from audits.uncertainty import iter_bootstrap_cells, percentile_interval

__all__ = ["CHUNK_CELLS", "FeatureReplicates", "DisparitySpec", "feature_replicates"]

#: Most cells (replicates x groups x 4) drawn and reduced at once.
CHUNK_CELLS = 5_000_000

#: (disparity name, kind, method, aggregation or None).
DisparitySpec = tuple[str, Literal["difference", "ratio"], fm.Method, fm.Agg | None]

_NEEDED = ("selection_rate", "tpr", "fpr", "tnr", "ppv", "accuracy", "balanced_accuracy")


@dataclass
class FeatureReplicates:
    """Per-replicate summaries of one feature's bootstrap.

    Attributes
    ----------
    disparities : dict
        Spec -> ``(n_boot,)`` replicates of that disparity.
    overall_ba : numpy.ndarray
        ``(n_boot,)`` replicates of the overall balanced accuracy.
    group_ba_low, group_ba_high : numpy.ndarray
        ``(G,)`` percentile interval of each group's balanced accuracy.
    """

    disparities: dict[Hashable, np.ndarray]
    overall_ba: np.ndarray
    group_ba_low: np.ndarray
    group_ba_high: np.ndarray


def feature_replicates(
    raw: np.ndarray, n_boot: int, rng: np.random.Generator, weighted: np.ndarray | None,
    specs: Sequence[DisparitySpec], *, level: float = 0.95, chunk_cells: int | None = None,
) -> FeatureReplicates:
    """Bootstrap one feature's ``(G, 4)`` cells and reduce every chunk of replicates.

    Parameters
    ----------
    raw : numpy.ndarray
        Row counts ``(G, 4)`` (tp, fp, tn, fn).
    n_boot : int
        Replicates (at least 1).
    rng : numpy.random.Generator
        Generator of this feature (see :func:`audits.uncertainty.feature_rng`).
    weighted : numpy.ndarray, optional
        Sums of weights ``(G, 4)`` when the data is weighted.
    specs : sequence of DisparitySpec
        Disparities to replicate.
    level : float
        Coverage of the per-group balanced-accuracy interval.
    chunk_cells : int, optional
        Cells per chunk (default :data:`CHUNK_CELLS`); any value gives the same result.

    Returns
    -------
    FeatureReplicates
        The per-replicate disparities and balanced-accuracy summaries.
    """
    n_groups = raw.shape[0]
    budget = CHUNK_CELLS if chunk_cells is None else chunk_cells
    chunk = max(1, int(budget) // max(1, raw.size))
    parts: dict[Hashable, list[np.ndarray]] = {spec: [] for spec in specs}
    overall_parts: list[np.ndarray] = []
    group_ba = np.empty((n_groups, n_boot), dtype=np.float64)
    start = 0
    for reps in iter_bootstrap_cells(raw, n_boot, rng, weighted, chunk=chunk):
        boot_rates = fm.rates(reps, _NEEDED) if weighted is not None else _count_rates(reps)
        boot_overall = fm.rates(reps.sum(axis=1), _NEEDED)
        del reps
        for spec in specs:
            name, kind, method, agg = spec
            parts[spec].append(fm.disparity(boot_rates, boot_overall, name, kind, method,
                                            agg or "worst_case"))
        group_ba[:, start : start + len(boot_overall["n"])] = boot_rates["balanced_accuracy"].T
        start += len(boot_overall["n"])
        overall_parts.append(boot_overall["balanced_accuracy"])
    low, high, _ = percentile_interval(group_ba, level, axis=-1)
    return FeatureReplicates({spec: np.concatenate(parts[spec]) for spec in specs},
                             np.concatenate(overall_parts), low, high)


def _count_rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Return the rates of :data:`_NEEDED` like :func:`audits.fairness.rates`, for counts.

    Whole-number cells make every sum exact in any order, so adding the cells
    directly gives the same values as ``fairness.rates`` without its gathers.
    """
    tp, fp, tn, fn = (cells[..., j] for j in range(4))
    pos, neg, chosen = tp + fn, fp + tn, tp + fp
    n = pos + neg
    divide = fm._divide
    out = {"n": n, "selection_rate": divide(chosen, n), "tpr": divide(tp, pos),
           "fpr": divide(fp, neg), "tnr": divide(tn, neg), "ppv": divide(tp, chosen),
           "accuracy": divide(tp + tn, n)}
    recalls = np.stack([out["tpr"], out["tnr"]], axis=-1)
    defined = np.isfinite(recalls).sum(axis=-1)
    out["balanced_accuracy"] = divide(np.nansum(recalls, axis=-1), defined.astype(np.float64))
    return out
