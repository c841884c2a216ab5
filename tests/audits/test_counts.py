from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audits.counts import count_confusion, count_groups, count_labels
from audits.fairness import confusion_cells
from pipelines.errors import ArgumentError, DataError


@st.composite
def frames(draw, max_rows: int = 200, weights: bool = False) -> pd.DataFrame:
    n = draw(st.integers(1, max_rows))
    races = draw(st.lists(st.sampled_from(["a", "b", "c", "d", None]), min_size=n, max_size=n))
    sexes = draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    p = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    df = pd.DataFrame({"y": y, "p": p, "race": races, "sex": sexes})
    if weights:
        w = draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n))
        df["w"] = w
    return df


def _rowlevel(df: pd.DataFrame, cols: list[str], weight: str | None = None) -> dict:
    keys = df[cols].fillna("(missing)").astype(str).agg("&".join, axis=1)
    w = df[weight] if weight else pd.Series(1.0, index=df.index)
    out = {}
    for key, sub in df.groupby(keys):
        ws = w[sub.index]
        y, p = sub["y"].to_numpy(), sub["p"].to_numpy()
        out[key] = [ws[(y == 1) & (p == 1)].sum(), ws[(y == 0) & (p == 1)].sum(),
                    ws[(y == 0) & (p == 0)].sum(), ws[(y == 1) & (p == 0)].sum()]
    return out


def _as_dict(counts, feature: str, stat: int = -1) -> dict:
    item = counts.feature(feature)
    cells = confusion_cells(item.flat(), stat=stat)
    return {g: list(c) for g, c in zip(item.groups, cells, strict=True)}


@settings(max_examples=60, deadline=None)
@given(frames(weights=True))
def test_counts_equal_row_level(df: pd.DataFrame) -> None:
    counts = count_confusion(df, label="y", prediction="p", sensitive=["race", "sex"],
                             intersections=[("race", "sex")], weight="w", batch_size=17)
    for feature, cols in (("race", ["race"]), ("sex", ["sex"]), ("race&sex", ["race", "sex"])):
        got = _as_dict(counts, feature)
        expected = _rowlevel(df, cols, "w")
        for key, cells in expected.items():
            np.testing.assert_allclose(got[key], cells, rtol=1e-12)
        # groups absent from the rows exist only as empty intersections
        assert all(sum(v) == 0 for k, v in got.items() if k not in expected)
        raw = _as_dict(counts, feature, stat=0)
        assert sum(map(sum, raw.values())) == len(df)


@settings(max_examples=40, deadline=None)
@given(frames(), st.integers(1, 5))
def test_partitions_merge_to_the_whole(df: pd.DataFrame, parts: int) -> None:
    args = {"label": "y", "prediction": "p", "sensitive": ["race", "sex"],
            "intersections": [("race", "sex")]}
    whole = count_confusion(df, **args)
    bounds = np.linspace(0, len(df), parts + 1).astype(int)
    chunks = [df.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    pieces = [count_confusion(chunk, **args) for chunk in chunks]
    merged = pieces[0]
    for piece in pieces[1:]:
        merged = merged + piece
    for a, b in zip(whole.features, merged.features, strict=True):
        assert a.levels == b.levels
        np.testing.assert_array_equal(a.table, b.table)


def test_missing_values_form_a_group_and_empty_intersections_have_n_zero() -> None:
    df = pd.DataFrame({"y": [1, 0, 1], "p": [1, 1, 0], "race": ["a", None, "b"],
                       "sex": ["F", "M", "M"]})
    counts = count_confusion(df, label="y", prediction="p", sensitive=["race", "sex"],
                             intersections=[("race", "sex")])
    assert counts.feature("race").groups == ("a", "b", "(missing)")
    inter = counts.feature("race&sex")
    assert inter.groups == ("a&F", "a&M", "b&F", "b&M", "(missing)&F", "(missing)&M")
    n = confusion_cells(inter.flat(), stat=0).sum(axis=1)
    assert n.tolist() == [1, 0, 0, 1, 0, 1]


def test_group_order_is_numeric_then_text_then_missing() -> None:
    df = pd.DataFrame({"y": [1] * 4, "p": [1] * 4, "g": [10, 9, None, 2]})
    counts = count_confusion(df, label="y", prediction="p", sensitive=["g"])
    assert counts.feature("g").groups == ("2.0", "9.0", "10.0", "(missing)")


def test_every_source_kind_gives_the_same_counts(tmp_path) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": rng.integers(0, 2, 500), "p": rng.integers(0, 2, 500),
                       "race": rng.choice(["x", "y", "z"], 500)})
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=64)
    df.to_csv(tmp_path / "d.csv", index=False)
    sources = [df, table, table.to_batches(max_chunksize=33), tmp_path / "d.parquet",
               str(tmp_path / "d.csv")]
    tables = [count_confusion(s, label="y", prediction="p", sensitive=["race"],
                              batch_size=50).feature("race").table for s in sources]
    for t in tables[1:]:
        np.testing.assert_array_equal(t, tables[0])


@pytest.mark.parametrize("values", [[True, False, True], [1.0, 0.0, 1.0], [1, -1, 1]])
def test_binary_encodings(values) -> None:
    df = pd.DataFrame({"y": values, "p": values, "g": ["a", "b", "b"]})
    counts = count_confusion(df, label="y", prediction="p", sensitive=["g"])
    assert confusion_cells(counts.overall()).tolist() == [2, 0, 1, 0]


def test_pos_label_for_text_outcomes() -> None:
    df = pd.DataFrame({"y": ["yes", "no", "yes"], "p": ["yes", "yes", "no"], "g": list("aab")})
    counts = count_confusion(df, label="y", prediction="p", sensitive=["g"], pos_label="yes")
    assert confusion_cells(counts.overall()).tolist() == [1, 1, 0, 1]


def test_count_labels_gives_positives_and_negatives() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 1], "g": list("aabb")})
    item = count_labels(df, label="y", sensitive=["g"]).feature("g")
    assert item.table[..., 0].tolist() == [[1, 1], [0, 2]]


def test_multiclass_and_regression_counts_merge() -> None:
    df = pd.DataFrame({"y": list("abca"), "p": list("abba"), "g": list("xxyy")})
    one = count_groups(df[:2], task="multiclass", label="y", prediction="p", sensitive=["g"])
    two = count_groups(df[2:], task="multiclass", label="y", prediction="p", sensitive=["g"])
    whole = count_groups(df, task="multiclass", label="y", prediction="p", sensitive=["g"])
    merged = one + two
    assert merged.cell_levels == whole.cell_levels == (("a", "b", "c"), ("a", "b", "c"))
    np.testing.assert_array_equal(merged.feature("g").table, whole.feature("g").table)


BAD = [
    ({"label": "nope"}, DataError, "input: column 'nope' not found; fix: use one of the "
     "columns: y, p, g, t, e"),
    ({"label": "t"}, DataError, "t: column 't' has values 'u', 'v', not 0/1 or booleans; "
     "fix: pass --pos-label (pos_label=) naming the positive value"),
    ({"label": "g"}, DataError, "g: column 'g' is not binary: found values 'a', 'b', 'c'; "
     "fix: pass a column with two values (0/1 or booleans), or audit it as multiclass"),
    ({"label": "e"}, DataError, "e: column 'e' is all null; fix: pass the column that holds "
     "the values"),
    ({"sensitive": []}, ArgumentError, "no sensitive feature given; fix: name at least one "
     "sensitive column"),
    ({"intersections": [("g", "zz")]}, ArgumentError, "intersections: intersection g&zz must "
     "join two or more sensitive features; fix: use features from: g"),
]


@pytest.mark.parametrize(("change", "exc", "line"), BAD)
def test_bad_input_is_one_line(change, exc, line) -> None:
    df = pd.DataFrame({"y": [1, 0, 1], "p": [1, 1, 0], "g": list("abc"), "t": list("uvu"),
                       "e": pd.Series([None, None, None], dtype="float64")})
    args = {"label": "y", "prediction": "p", "sensitive": ["g"], **change}
    with pytest.raises(exc) as info:
        count_confusion(df, **args)
    assert info.value.line() == line


def test_partial_nulls_in_prediction_are_refused() -> None:
    df = pd.DataFrame({"y": [1, 0, 1], "p": [1.0, None, 0.0], "g": list("abc")})
    with pytest.raises(DataError) as info:
        count_confusion(df, label="y", prediction="p", sensitive=["g"])
    assert info.value.line() == ("p: column 'p' has 1 null values; fix: drop or fill the rows "
                                 "with a missing value before auditing")


def test_unsupported_file(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(DataError) as info:
        count_confusion(path, label="y", prediction="p", sensitive=["g"])
    assert info.value.line() == (f"{path}: 'x.json' is not a CSV or Parquet file; fix: pass a "
                                 "file ending in .csv, .parquet or .pq")
