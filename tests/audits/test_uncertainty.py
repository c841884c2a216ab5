from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from audits import fairness as fm
from audits.uncertainty import (
    bootstrap_cells,
    feature_rng,
    percentile_interval,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17, Table I, method 3 (Wilson)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_values(k, n, low, high) -> None:
    lo, hi = wilson_interval(np.array([k]), np.array([n]))
    assert lo[0] == pytest.approx(low, abs=5e-5)
    assert hi[0] == pytest.approx(high, abs=5e-5)


def test_wilson_is_undefined_without_trials() -> None:
    lo, hi = wilson_interval(np.array([0.0]), np.array([0.0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def _table(groups: np.ndarray, y: np.ndarray, p: np.ndarray, n_groups: int) -> np.ndarray:
    cell = np.select([(y == 1) & (p == 1), (y == 0) & (p == 1), (y == 0) & (p == 0)], [0, 1, 2], 3)
    return np.bincount(groups * 4 + cell, minlength=n_groups * 4).reshape(n_groups, 4)


def _stats(cells: np.ndarray) -> dict[str, np.ndarray]:
    r, o = fm.rates(cells), fm.rates(cells.sum(axis=-2))
    return {
        "dp_diff": fm.disparity(r, o, "demographic_parity", "difference", "between_groups"),
        "eo_ratio": fm.disparity(r, o, "equalized_odds", "ratio", "to_overall"),
        "acc_diff": fm.disparity(r, o, "accuracy_parity", "difference", "between_groups"),
    }


def test_count_bootstrap_matches_row_bootstrap_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(11)
    n, n_groups, n_boot = 400, 3, 2000
    groups = rng.choice(n_groups, n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < 0.4 + 0.1 * groups).astype(int)
    p = np.where(rng.random(n) < 0.75, y, 1 - y)
    raw = _table(groups, y, p, n_groups)
    ours = _stats(bootstrap_cells(raw, n_boot, feature_rng(3, 0)))
    rows = np.stack([_table(groups[i], y[i], p[i], n_groups)
                     for i in rng.integers(0, n, size=(n_boot, n))]).astype(float)
    theirs = _stats(rows)
    for name in ours:
        a, b = ours[name][np.isfinite(ours[name])], theirs[name][np.isfinite(theirs[name])]
        # Monte Carlo standard errors of a mean and of a standard deviation from n_boot draws
        se_mean = np.sqrt(a.var() / a.size + b.var() / b.size)
        se_sd = np.sqrt(a.var() / (2 * a.size) + b.var() / (2 * b.size))
        assert abs(a.mean() - b.mean()) < 4 * se_mean, name
        assert abs(a.std() - b.std()) < 4 * se_sd, name
        assert stats.ks_2samp(a, b).pvalue > 1e-3, name


def test_weighted_bootstrap_reweights_by_cell_mean() -> None:
    raw = np.array([[10, 0, 5, 5]])
    weighted = raw * np.array([[2.0, 0.0, 1.0, 3.0]])
    reps = bootstrap_cells(raw, 50, np.random.default_rng(0), weighted)
    draws = bootstrap_cells(raw, 50, np.random.default_rng(0))
    np.testing.assert_allclose(reps, draws * np.array([[2.0, 0.0, 1.0, 3.0]]))
    assert (draws.sum(axis=(1, 2)) == 20).all()


def test_seeded_bootstrap_is_reproducible() -> None:
    raw = np.array([[3, 4, 5, 6], [7, 1, 2, 9]])
    a = bootstrap_cells(raw, 100, feature_rng(5, 1))
    b = bootstrap_cells(raw, 100, feature_rng(5, 1))
    c = bootstrap_cells(raw, 100, feature_rng(6, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_percentile_interval_ignores_undefined_replicates() -> None:
    reps = np.array([np.nan] * 10 + list(np.linspace(0, 1, 101)))
    low, high, share = percentile_interval(reps)
    assert low == pytest.approx(0.025) and high == pytest.approx(0.975)
    assert share == pytest.approx(101 / 111)
    low, high, share = percentile_interval(np.full(5, np.nan))
    assert np.isnan(low) and np.isnan(high) and share == 0
