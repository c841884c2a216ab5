"""Streaming, seeded, stratified splits: determinism, balance, independence."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import ArgumentError, DataError
from pipelines.splits import StreamSplitter


def data(n: int = 5000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    race = rng.choice(["a", "b", "c", "None"], n, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    race[rng.random(n) < 0.03] = None
    return pa.table({
        "race": pa.array(race.tolist()),
        "label": pa.array(rng.integers(0, 2, n)),
        "x": pa.array(rng.random(n)),
    })


def run(tbl: pa.Table, cuts=None, **kw) -> np.ndarray:
    kw = {"test_fraction": 0.2, "seed": 0, "stratify": ["race", "label"], **kw}
    sp = StreamSplitter(**kw)
    bounds = [0, *sorted(set(cuts or [])), tbl.num_rows]
    parts = [sp.assign(tbl.slice(a, b - a).combine_chunks().to_batches()[0])
             for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    return np.concatenate(parts)


def reference(tbl: pa.Table, *, test_fraction: float, seed: int, stratify: list[str],
              block: int = 100, superblock: int = 256) -> np.ndarray:
    """Row-by-row statement of the method, for comparison with the vectorised code."""
    k = round(block * test_fraction)
    cols = [tbl[c].cast(pa.string()).to_pylist() for c in stratify]
    seen: dict[int, int] = {}
    out = np.zeros(tbl.num_rows, dtype=bool)
    for i in range(tbl.num_rows):
        key = json.dumps([c[i] for c in cols], separators=(",", ":")).encode()
        h = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")
        r = seen.get(h, 0)
        seen[h] = r + 1
        sb, pos = divmod(r, block * superblock)
        keys = np.random.default_rng([seed, h, sb]).random((superblock, block))
        perm = np.argsort(keys[pos // block])
        out[i] = pos % block in set(perm[:k].tolist())
    return out


def test_matches_row_by_row_reference():
    tbl = data(1500)
    got = run(tbl, [100, 101, 777], block_size=10, superblock=4)
    want = reference(tbl, test_fraction=0.2, seed=0, stratify=["race", "label"], block=10,
                     superblock=4)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4999), max_size=10))
def test_same_seed_same_split_whatever_the_batching(cuts):
    tbl = data()
    np.testing.assert_array_equal(run(tbl, cuts), run(tbl, None))


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=2**32))
def test_different_seeds_differ(a, b):
    tbl = data(2000)
    same = np.array_equal(run(tbl, seed=a), run(tbl, seed=b))
    assert same == (a == b)


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.25, 0.5, 0.73])
def test_per_stratum_share(fraction):
    tbl = data(20000, seed=3)
    mask = run(tbl, [999, 5000], test_fraction=fraction)
    per_block = round(100 * fraction)
    keys = [f"{r}|{y}" for r, y in zip(tbl["race"].to_pylist(), tbl["label"].to_pylist(),
                                      strict=True)]
    keys_arr = np.array(keys)
    for key in set(keys):
        rows = keys_arr == key
        n, tests = int(rows.sum()), int(mask[rows].sum())
        full = n // 100
        assert full * per_block <= tests <= full * per_block + (n % 100), key


def test_null_is_its_own_stratum_and_strata_are_independent():
    tbl = data(3000)
    mask = run(tbl, stratify=["race"])
    race = tbl["race"].to_pylist()
    for value in (None, "None"):
        keep = np.array([r == value for r in race]) if value else np.array(
            [r is None for r in race])
        alone = run(tbl.filter(pa.array(keep)), stratify=["race"])
        np.testing.assert_array_equal(mask[keep], alone)
    nulls = np.array([r is None for r in race])
    strs = np.array([r == "None" for r in race])
    merged = run(tbl.filter(pa.array(nulls | strs)).drop_columns(["race"])
                 .append_column("race", pa.array(["k"] * int((nulls | strs).sum()))),
                 stratify=["race"])
    assert not np.array_equal(mask[nulls | strs], merged)


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 0), (1.0, 5000)])
def test_extreme_fractions(fraction, expected):
    assert int(run(data(), test_fraction=fraction).sum()) == expected


def test_unstratified_and_dictionary_columns():
    tbl = data(2000)
    plain = run(tbl, [300], stratify=["race"])
    dict_tbl = tbl.set_column(0, "race", tbl["race"].dictionary_encode())
    np.testing.assert_array_equal(plain, run(dict_tbl, [1200], stratify=["race"]))
    assert int(run(tbl, stratify=[]).sum()) == 400


def test_split_definition():
    sp = StreamSplitter(test_fraction=0.3, seed=5, stratify=["race"])
    definition = sp.split_definition()
    assert {k: definition[k] for k in ("method", "test_fraction", "seed", "stratify",
                                       "block_size", "superblock")} == {
        "method": "permuted_blocks/1", "test_fraction": 0.3, "seed": 5, "stratify": ["race"],
        "block_size": 100, "superblock": 256}


@pytest.mark.parametrize(("kwargs", "line"), [
    ({"test_fraction": 1.5, "seed": 0},
     "split.test_fraction: test_fraction 1.5 is outside [0, 1]; fix: use a value such as 0.2"),
    ({"test_fraction": 0.2, "seed": -1},
     "split.seed: seed -1 is negative; fix: use a non-negative integer"),
])
def test_bad_arguments(kwargs, line):
    with pytest.raises(ArgumentError) as err:
        StreamSplitter(**kwargs)
    assert err.value.line() == line


def test_missing_stratify_column():
    sp = StreamSplitter(test_fraction=0.2, seed=0, stratify=["sex"])
    with pytest.raises(DataError) as err:
        sp.assign(data(10).to_batches()[0])
    assert err.value.line() == ("split.stratify: stratify column 'sex' is not in the data; "
                                "fix: use one of: race, label, x")
