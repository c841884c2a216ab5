"""Many groups: chunked bootstrap equals all-at-once, and 100,000 groups complete."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audits._replicates as replicates
from audits import fairness as fm
from audits.engine import _disparity_specs, audit_predictions
from audits.uncertainty import (
    bootstrap_cells,
    feature_rng,
    iter_bootstrap_cells,
    percentile_interval,
)

_ALPHA = (1.0 - 0.95) / 2.0  # as percentile_interval computes it (not exactly 0.025)
_Q = [_ALPHA, 1.0 - _ALPHA]


def _table(n_rows: int, n_groups: int, seed: int, weighted: bool = False) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n_groups, n_rows)
    ids[:n_groups] = np.arange(n_groups)  # every group present
    cols = {"g": pa.array([f"g{i}" for i in ids]), "y": rng.integers(0, 2, n_rows),
            "p": (rng.random(n_rows) < 0.3).astype(np.int64),
            "s": pa.array(np.array(["a", "b", "c"])[rng.integers(0, 3, n_rows)])}
    if weighted:
        cols["w"] = rng.random(n_rows) * 2 + 0.1
    return pa.table(cols)


def _audit(table: pa.Table, n_boot: int, weighted: bool = False) -> dict:
    result = audit_predictions(table, label="y", prediction="p", sensitive=["g", "s"],
                               intersections=[("g", "s")], n_boot=n_boot, seed=3,
                               weight="w" if weighted else None)
    return json.loads(json.dumps(result.to_dict()))


@pytest.mark.parametrize(("n_rows", "n_groups", "n_boot", "weighted"),
                         [(60_000, 20_000, 200, False), (6_000, 300, 97, True)])
def test_chunked_bootstrap_equals_all_at_once(monkeypatch, n_rows, n_groups, n_boot,
                                              weighted) -> None:
    table = _table(n_rows, n_groups, 11, weighted)
    monkeypatch.setattr(replicates, "CHUNK_CELLS", 10**12)  # every replicate in one chunk
    whole = _audit(table, n_boot, weighted)
    monkeypatch.setattr(replicates, "CHUNK_CELLS", 1)  # one replicate per chunk
    single = _audit(table, n_boot, weighted)
    monkeypatch.setattr(replicates, "CHUNK_CELLS", 7 * 4 * n_groups)  # uneven last chunk
    uneven = _audit(table, n_boot, weighted)
    assert whole == single == uneven
    assert len(whole["groups"]) > n_groups
    assert any(d["ci"] is not None for d in whole["disparities"])


def test_replicates_match_the_unchunked_reference() -> None:
    """Intervals equal those computed on the whole (n_boot, G, 4) array at once."""
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 6, (400, 4)).astype(np.float64)
    raw[:5] = 0  # empty groups: undefined rates in every replicate
    specs = _disparity_specs()
    got = replicates.feature_replicates(raw, 150, feature_rng(1, 0), None, specs,
                                        chunk_cells=40 * 4)
    reps = bootstrap_cells(raw, 150, feature_rng(1, 0))
    boot, overall = fm.rates(reps), fm.rates(reps.sum(axis=1))
    for name, kind, method, agg in specs:
        expected = fm.disparity(boot, overall, name, kind, method, agg or "worst_case")
        np.testing.assert_array_equal(got.disparities[(name, kind, method, agg)], expected)
    np.testing.assert_array_equal(got.overall_ba, overall["balanced_accuracy"])
    with np.errstate(all="ignore"):
        low, high = np.nanquantile(boot["balanced_accuracy"], _Q, axis=0)
    np.testing.assert_array_equal(got.group_ba_low, low)
    np.testing.assert_array_equal(got.group_ba_high, high)
    assert np.isnan(got.group_ba_low[:5]).all()


@settings(max_examples=40, deadline=None)
@given(n_boot=st.integers(0, 30), chunk=st.integers(1, 40), weighted=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_bootstrap_chunks_concatenate_to_the_whole_draw(n_boot, chunk, weighted, seed) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 4, (6, 4))
    weights = raw * rng.random((6, 4)) if weighted else None
    whole = bootstrap_cells(raw, n_boot, feature_rng(seed, 0), weights)
    parts = list(iter_bootstrap_cells(raw, n_boot, feature_rng(seed, 0), weights, chunk=chunk))
    assert all(len(p) <= chunk for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_boot=st.integers(1, 60), nan_share=st.floats(0, 1))
def test_percentile_interval_along_an_axis_equals_nanquantile(seed, n_boot, nan_share) -> None:
    rng = np.random.default_rng(seed)
    reps = rng.random((n_boot, 7, 3))
    reps[rng.random(reps.shape) < nan_share] = np.nan
    reps[:, 0, 0] = np.nan  # one column without any defined replicate
    low, high, share = percentile_interval(reps)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        q = np.nanquantile(reps, _Q, axis=0)
    np.testing.assert_array_equal(low, q[0])
    np.testing.assert_array_equal(high, q[1])
    np.testing.assert_array_equal(share, np.isfinite(reps).mean(axis=0))
    t_low, t_high, t_share = percentile_interval(np.moveaxis(reps, 0, -1), axis=-1)
    np.testing.assert_array_equal(t_low, low)
    np.testing.assert_array_equal(t_high, high)
    np.testing.assert_array_equal(t_share, share)


def test_100000_groups_complete_with_every_group() -> None:
    n_groups, n_rows = 100_000, 250_000
    rng = np.random.default_rng(8)
    ids = np.concatenate([np.arange(n_groups), rng.integers(0, n_groups, n_rows - n_groups)])
    table = pa.table({"g": pa.array([f"p{i}" for i in ids]), "y": rng.integers(0, 2, n_rows),
                      "p": rng.integers(0, 2, n_rows)})
    result = audit_predictions(table, label="y", prediction="p", sensitive="g", n_boot=50)
    data = result.to_dict()
    groups = data["groups"]
    assert len(groups) == n_groups
    assert {g["group"] for g in groups} == {f"p{i}" for i in range(n_groups)}
    assert sum(g["n"] for g in groups) == n_rows == data["metrics"]["n"]
    sizes = np.bincount(ids, minlength=n_groups)
    assert sorted(g["n"] for g in groups) == sorted(sizes.tolist())
    assert len(data["disparities"]) == 24
    first = data["disparities"][0]  # tiny groups: some select everyone, some no one
    assert (first["metric"], first["method"]) == ("demographic_parity_difference",
                                                  "between_groups")
    assert first["value"] == 1.0 and first["ci"] == [1.0, 1.0]
    assert all(g["small"] for g in groups)
