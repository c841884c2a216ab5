"""Proxies: Cramer's V and the correlation ratio, streamed, against direct computation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import association, crosstab

from audits._encode import Dictionary
from audits.proxies import ProxyAccumulator, correlation_ratio, cramers_v


def _stream(table: pa.Table, kinds: dict[str, str], batch: int) -> list[dict]:
    acc = ProxyAccumulator(kinds, ["s"])
    d = Dictionary()
    for b in table.to_batches(max_chunksize=batch):
        codes = {"s": d.encode(b.column("s"))}
        acc.add(b, codes, {"s": len(d)})
    return acc.result()


def _eta(x: np.ndarray, g: np.ndarray) -> float:
    mean = x.mean()
    between = sum((g == k).sum() * (x[g == k].mean() - mean) ** 2 for k in np.unique(g))
    return float(np.sqrt(between / ((x - mean) ** 2).sum()))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 4), st.integers(2, 5), st.integers(7, 300))
def test_streamed_matches_direct(seed: int, ks: int, kc: int, batch: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    s = rng.integers(0, ks, n)
    c = (s + rng.integers(0, kc, n)) % kc
    x = rng.normal(s * 0.5, 1.0, n)
    table = pa.table({"s": [f"g{v}" for v in s], "c": [f"c{v}" for v in c], "x": x})
    rows = {r["column"]: r for r in _stream(table, {"c": "categorical", "x": "numeric"}, batch)}
    ct = crosstab(c, s).count
    if min((ct.sum(axis=1) > 0).sum(), (ct.sum(axis=0) > 0).sum()) >= 2:
        ct = ct[ct.sum(axis=1) > 0][:, ct.sum(axis=0) > 0]
        assert rows["c"]["value"] == pytest.approx(association(ct, method="cramer"), rel=1e-9)
    if len(np.unique(s)) >= 2:
        assert rows["x"]["value"] == pytest.approx(_eta(x, s), rel=1e-9)


def test_perfect_and_absent_association() -> None:
    assert cramers_v(np.array([[10, 0], [0, 7]])) == pytest.approx(1.0)
    assert cramers_v(np.array([[10, 10], [5, 5]])) == pytest.approx(0.0)
    assert np.isnan(cramers_v(np.array([[3, 4]])))
    # groups with equal means -> eta 0; constant column -> undefined
    assert correlation_ratio(np.array([2, 2]), np.array([2.0, 2.0]), np.array([4.0, 4.0])
                             ) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(correlation_ratio(np.array([2, 2]), np.array([2.0, 2.0]),
                                      np.array([2.0, 2.0])))


def test_identifier_columns_are_skipped_and_nulls_ignored() -> None:
    n = 300
    table = pa.table({"s": ["a", "b", "c"] * 100, "id": [f"p{i}" for i in range(n)],
                      "x": [None if i % 3 == 0 else float(i % 3) for i in range(n)],
                      "when": pa.array(np.arange(n).astype("datetime64[s]"))})
    rows = _stream(table, {"id": "categorical", "x": "numeric", "when": "numeric"}, 64)
    by = {r["column"]: r for r in rows}
    assert by["id"]["skipped"] == "more than 100 distinct values (an identifier or free text)"
    assert by["x"]["value"] == pytest.approx(1.0)  # x is b -> 1.0, c -> 2.0, a -> null
    assert 0.0 <= by["when"]["value"] <= 1.0
