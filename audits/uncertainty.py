"""Confidence intervals: Wilson score intervals and a bootstrap over counts.

The bootstrap resamples the count table, not the rows: drawing ``N`` rows
with replacement from a table of ``N`` rows and counting them per
(group, cell) is exactly a multinomial draw of ``N`` over the cells with
probabilities ``count / N``. So each replicate costs ``O(cells)``, whatever
the row count, and all replicates are drawn at once
(``numpy.random.Generator.multinomial`` with ``size=n_boot``).

Weighted data: the row counts are resampled and each resampled cell is
reweighted by the mean weight of that cell (``weight sum / row count``).
This is exact in distribution when weights are constant within cells and
an approximation otherwise (it ignores the within-cell spread of weights).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Z95",
    "wilson_interval",
    "bootstrap_cells",
    "percentile_interval",
    "feature_rng",
]

#: Two-sided 95 % standard normal quantile.
Z95 = 1.959963984540054


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval of a binomial proportion.

    Wilson, E. B. (1927). "Probable inference, the law of succession, and
    statistical inference". JASA 22(158), 209-212.

    Parameters
    ----------
    successes, trials : numpy.ndarray
        Numerator and denominator (weighted data: pass the weighted rate times
        the row count as ``successes`` and the row count as ``trials``).
    z : float
        Normal quantile (default 95 %).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds; NaN where ``trials`` is 0.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def feature_rng(seed: int, index: int) -> np.random.Generator:
    """Return the generator of the ``index``-th feature for ``seed`` (order-stable)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def bootstrap_cells(
    raw: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    weighted: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n_boot`` bootstrap replicates of a count table at once.

    Parameters
    ----------
    raw : numpy.ndarray
        Row counts, any shape (e.g. ``(G, 4)``); the replicate total equals ``raw.sum()``.
    n_boot : int
        Number of replicates.
    rng : numpy.random.Generator
        Source of randomness.
    weighted : numpy.ndarray, optional
        Sums of weights with the shape of ``raw``; replicates are then reweighted
        by the mean weight of each cell.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_boot, *raw.shape)``, float64.
    """
    flat = np.asarray(raw, dtype=np.int64).ravel()
    total = int(flat.sum())
    if total == 0:
        draws = np.zeros((n_boot, flat.size), dtype=np.float64)
    else:
        draws = rng.multinomial(total, flat / total, size=n_boot).astype(np.float64)
    draws = draws.reshape((n_boot, *np.shape(raw)))
    if weighted is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_w = np.where(raw > 0, np.asarray(weighted) / np.where(raw > 0, raw, 1), 0.0)
        draws *= mean_w
    return draws


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the percentile bootstrap interval, ignoring undefined (NaN) replicates.

    Parameters
    ----------
    replicates : numpy.ndarray
        Shape ``(n_boot, ...)``.
    level : float
        Coverage of the interval.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Lower bound, upper bound, and the fraction of replicates that were defined.
        Bounds are NaN where no replicate is defined.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    defined = np.isfinite(reps)
    share = defined.mean(axis=0)
    alpha = (1.0 - level) / 2.0
    safe = np.where(defined.any(axis=0, keepdims=True), reps, 0.0)
    q = np.nanquantile(safe, [alpha, 1.0 - alpha], axis=0)
    low = np.where(share > 0, q[0], np.nan)
    high = np.where(share > 0, q[1], np.nan)
    return low, high, share
