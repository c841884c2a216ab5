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

from collections.abc import Iterator

import numpy as np

__all__ = [
    "Z95",
    "wilson_interval",
    "bootstrap_cells",
    "iter_bootstrap_cells",
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
    return next(iter_bootstrap_cells(raw, n_boot, rng, weighted, chunk=max(1, n_boot)))


def iter_bootstrap_cells(
    raw: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    weighted: np.ndarray | None = None,
    *,
    chunk: int,
) -> Iterator[np.ndarray]:
    """Yield the replicates of :func:`bootstrap_cells` in chunks of ``chunk`` replicates.

    The concatenated chunks equal ``bootstrap_cells(raw, n_boot, rng, weighted)``
    for a generator in the same state, whatever ``chunk`` is.

    Parameters
    ----------
    raw, n_boot, rng, weighted
        As in :func:`bootstrap_cells`.
    chunk : int
        Replicates per yielded array (the last one may hold fewer); at least 1.

    Yields
    ------
    numpy.ndarray
        Shape ``(k, *raw.shape)``, float64, ``k <= chunk``; one empty array when
        ``n_boot`` is 0.
    """
    flat = np.asarray(raw, dtype=np.int64).ravel()
    total = int(flat.sum())
    mean_w = None
    if weighted is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_w = np.where(raw > 0, np.asarray(weighted) / np.where(raw > 0, raw, 1), 0.0)
    step = max(1, int(chunk))
    for start in range(0, max(n_boot, 1), step):
        k = min(step, n_boot - start)
        if total == 0:
            draws = np.zeros((k, flat.size), dtype=np.float64)
        else:
            draws = rng.multinomial(total, flat / total, size=k).astype(np.float64)
        draws = draws.reshape((k, *np.shape(raw)))
        if mean_w is not None:
            draws *= mean_w
        yield draws


#: Most replicate values copied at once while computing row-wise quantiles.
_BLOCK_VALUES = 4_000_000


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95, *, axis: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the percentile bootstrap interval, ignoring undefined (NaN) replicates.

    Parameters
    ----------
    replicates : numpy.ndarray
        Replicates along ``axis``, e.g. shape ``(n_boot, ...)``.
    level : float
        Coverage of the interval.
    axis : int
        Axis of the replicates (default 0). ``axis=-1`` on a C-contiguous array
        avoids a transposed copy.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Lower bound, upper bound, and the fraction of replicates that were defined,
        with the shape of ``replicates`` without ``axis``. Bounds are NaN where no
        replicate is defined. Equal to ``numpy.nanquantile`` (linear method) along
        ``axis``, computed block-wise without a per-column Python loop.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    alpha = (1.0 - level) / 2.0
    if reps.ndim == 1:
        defined = np.isfinite(reps)
        share = defined.mean(axis=0)
        safe = np.where(defined.any(axis=0, keepdims=True), reps, 0.0)
        q = np.nanquantile(safe, [alpha, 1.0 - alpha], axis=0)
        return np.where(share > 0, q[0], np.nan), np.where(share > 0, q[1], np.nan), share
    moved = np.moveaxis(reps, axis, -1)
    shape, n_reps = moved.shape[:-1], moved.shape[-1]
    rows = moved.reshape(-1, n_reps)
    low, high, share = _row_intervals(rows, [alpha, 1.0 - alpha])
    return low.reshape(shape), high.reshape(shape), share.reshape(shape)


def _row_intervals(
    rows: np.ndarray, q: list[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles ``q`` of the finite values of each row of ``rows`` (K, B)."""
    n_rows, n_reps = rows.shape
    low, high = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    count = np.zeros(n_rows, dtype=np.int64)
    block = max(1, _BLOCK_VALUES // max(1, n_reps))
    for start in range(0, n_rows, block):
        part = rows[start : start + block]
        finite = np.isfinite(part).sum(axis=1)
        count[start : start + block] = finite
        where = np.arange(start, start + len(part))
        full = finite == n_reps
        if full.any() and n_reps:
            low[where[full]], high[where[full]] = np.quantile(part[full], q, axis=1)
        partial = (finite > 0) & ~full
        if partial.any():
            ordered = np.sort(part[partial], axis=1)  # NaN last
            sizes, index = finite[partial], where[partial]
            for size in np.unique(sizes):
                pick = sizes == size
                low[index[pick]], high[index[pick]] = np.quantile(
                    ordered[pick, :size], q, axis=1)
    share = count / n_reps if n_reps else np.full(n_rows, np.nan)
    return low, high, share
