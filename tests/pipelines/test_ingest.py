"""Ingest: typed, renamed, value-mapped, derived record batches, streamed; clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _ingest_helpers import file_spec, ingest, resolve, write
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import DataError
from pipelines.ingest import check_columns, iter_batches, output_schema, transform_batch

CSV = "y,g,age,score,note\n1,a,23,0.5,x\n0,b,,1.5,\n1,?,47,2.5,z\n"


def test_types_missing_tokens_and_undeclared_as_string(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", CSV)
    spec = file_spec(src, read={"missing_values": ["", "?"]},
                     columns={"y": "int64", "age": "int64", "score": "float64", "g": "category"})
    table = ingest(spec, tmp_path / "home")
    assert table.schema.field("y").type == pa.int64()
    assert table.schema.field("score").type == pa.float64()
    assert table.schema.field("note").type == pa.string()
    assert pa.types.is_dictionary(table.schema.field("g").type)
    assert table.column("age").to_pylist() == [23, None, 47]
    assert table.column("g").to_pylist() == ["a", "b", None]
    assert table.column("note").to_pylist() == ["x", None, "z"]


def test_rename_value_maps_strip_and_keep_declared(tmp_path: Path) -> None:
    src = write(tmp_path / "d.data", "1, a , >50K.\n0, ?, <=50K\n")
    spec = file_spec(
        src,
        read={"header": False, "column_names": ["y", "grp", "inc"], "missing_values": ["?"],
              "strip_whitespace": True},
        rename={"grp": "g"},
        value_maps={"inc": {">50K.": ">50K", "<=50K.": "<=50K"}, "y": {"1": "yes"}},
        columns={"inc": "category"},
        keep="declared",
        label={"column": "inc", "positive": [">50K"]},
    )
    table = ingest(spec, tmp_path / "home")
    assert table.column_names == ["y", "g", "inc"]
    assert table.column("g").to_pylist() == ["a", None]
    assert table.column("inc").to_pylist() == [">50K", "<=50K"]
    assert table.column("y").to_pylist() == ["yes", "0"]


def test_keep_declared_drops_other_columns(tmp_path: Path) -> None:
    spec = file_spec(write(tmp_path / "d.csv", CSV), columns={"age": "int64"}, keep="declared")
    assert ingest(spec, tmp_path / "h").column_names == ["y", "g", "age"]  # note, score dropped


@pytest.mark.parametrize(
    ("right", "expected"),
    [(False, ["young", "old", "old", None, None]), (True, ["young", "young", "old", None, None])],
)
def test_derived_bins_closed_side(tmp_path: Path, right: bool, expected: list) -> None:
    src = write(tmp_path / "d.csv", "y,g,age\n1,a,20\n1,a,25\n1,a,60\n1,a,\n1,a,99\n")
    spec = file_spec(src, columns={"age": "int64"}, derived=[
        {"name": "band", "from": "age", "edges": [0, 25, 90], "labels": ["young", "old"],
         "right": right}])
    assert ingest(spec, tmp_path / "h").column("band").to_pylist() == expected


def test_derived_map_with_default_and_declared_type(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", "y,g,code\n1,a,A91\n1,a,A92\n1,a,A99\n")
    spec = file_spec(src, columns={"sex": "category"}, derived=[
        {"kind": "map", "name": "sex", "from": "code", "mapping": {"A91": "male", "A92": "female"},
         "default": "unknown"}])
    table = ingest(spec, tmp_path / "h")
    assert pa.types.is_dictionary(table.schema.field("sex").type)
    assert table.column("sex").to_pylist() == ["male", "female", "unknown"]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.floats(-50, 150, allow_nan=False)), min_size=1,
                       max_size=40), right=st.booleans())
def test_bins_match_a_plain_python_definition(values: list, right: bool) -> None:
    from pipelines.spec import parse_spec

    edges, labels = [0.0, 18.0, 65.0, math.inf], ["a", "b", "c"]
    spec = parse_spec({
        "name": "t", "title": "t", "license": "x", "citation": "x",
        "sources": [{"url": "f.csv", "sha256": "0" * 64}], "label": {"column": "y",
        "positive": [1]}, "sensitive": [{"column": "v"}], "split": {"kind": "all"},
        "derived": [{"name": "band", "from": "v", "edges": edges, "labels": labels,
                     "right": right}]})
    batch = pa.RecordBatch.from_pydict(
        {"v": pa.array(values, pa.float64()), "y": [1] * len(values)})

    def label(v: float | None) -> str | None:
        if v is None:
            return None
        for lo, hi, name in zip(edges, edges[1:], labels, strict=False):
            if (lo < v <= hi) if right else (lo <= v < hi):
                return name
        return None

    out = transform_batch(spec, batch).column("band").to_pylist()
    assert out == [label(v) for v in values]


def test_streams_in_several_batches_same_as_whole(tmp_path: Path) -> None:
    rows = "".join(f"{i % 2},g{i % 3},{i},{i / 7}\n" for i in range(60_000))
    src = write(tmp_path / "d.csv", "y,g,age,score\n" + rows)
    spec = file_spec(src, read={"block_size": 1 << 16}, columns={"age": "int64"})
    batches = list(iter_batches(spec, resolve(spec, tmp_path / "h")))
    assert len(batches) > 5
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 60_000
    assert table.column("age").to_pylist() == list(range(60_000))
    assert table.column("score").type == pa.string()  # undeclared: never re-inferred per block


@pytest.mark.parametrize("block_size", [1 << 16, 16 << 20])
def test_malformed_row_names_its_line(tmp_path: Path, block_size: int) -> None:
    good = "".join(f"{i % 2},a,{i}\n" for i in range(20_000))
    src = write(tmp_path / "d.csv", "preamble line\ny,g,age\n" + good + "1,a,3,EXTRA\n" + good)
    spec = file_spec(src, read={"skip_rows": 1, "block_size": block_size})
    with pytest.raises(DataError) as err:
        ingest(spec, tmp_path / "h")
    assert str(err.value) == (
        f"{src}:20003: malformed CSV row: expected 3 fields, found 4; fix: repair that line, "
        "or check read.delimiter (',') , read.header and read.skip_rows in the spec"
        .replace(" ,", ",")
    )


@pytest.mark.parametrize("text", ["", "y,g\n"])
def test_empty_source(tmp_path: Path, text: str) -> None:
    src = write(tmp_path / "d.csv", text)
    spec = file_spec(src)
    with pytest.raises(DataError) as err:
        ingest(spec, tmp_path / "h")
    assert str(err.value) == (
        f"{src}: the source has no data rows; "
        "fix: check the file, read.skip_rows and read.header in the spec"
    )


def test_bad_value_for_declared_type(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", "y,g,age\n1,a,30\n0,b,thirty\n")
    spec = file_spec(src, columns={"age": "int64"})
    with pytest.raises(DataError) as err:
        ingest(spec, tmp_path / "h")
    assert str(err.value) == (
        f"{src}: column 'age' has value 'thirty', which is not a valid int64; fix: declare it "
        "with another type in 'columns', or add 'thirty' to read.missing_values"
    )


def test_bad_value_after_value_map_names_the_spec_field(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", "y,g,age\n1,a,30\n0,b,old\n")
    spec = file_spec(src, columns={"age": "int64"}, value_maps={"age": {"30": "31"}})
    with pytest.raises(DataError) as err:
        ingest(spec, tmp_path / "h")
    assert str(err.value) == (
        f"{src}: column 'age' has value 'old', which is not a valid int64; fix: change "
        "columns.age in the spec, add the value to read.missing_values, or map it in value_maps"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"label": {"column": "income", "positive": [1]}},
         "spec 'toy': label.column names column 'income', which is not in the data; "
         "fix: use one of the columns that exist: y, g, age"),
        ({"sensitive": [{"column": "g"}, {"column": "race"}]},
         "spec 'toy': sensitive[1].column names column 'race', which is not in the data; "
         "fix: use one of the columns that exist: y, g, age"),
        ({"id_column": "key"},
         "spec 'toy': id_column names column 'key', which is not in the data; "
         "fix: use one of the columns that exist: y, g, age"),
        ({"rename": {"gg": "g2"}},
         "{src}: rename.gg names column 'gg', which is not in the data; "
         "fix: use one of the columns that exist: y, g, age"),
        ({"derived": [{"name": "b", "from": "agee", "edges": [0, 1], "labels": ["x"]}]},
         "{src}: derived[0].from names column 'agee', which is not in the data; "
         "fix: use one of the columns that exist: y, g, age"),
    ],
)
def test_absent_columns_list_existing(tmp_path: Path, fields: dict, message: str) -> None:
    src = write(tmp_path / "d.csv", "y,g,age\n1,a,3\n")
    spec = file_spec(src, **fields)
    with pytest.raises(DataError) as err:
        ingest(spec, tmp_path / "h")
    assert str(err.value) == message.format(src=src)


def test_duplicate_header_names_need_column_names(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", "y,g,score,score\n1,a,3,3\n")
    with pytest.raises(DataError) as err:
        ingest(file_spec(src), tmp_path / "h")
    assert str(err.value) == (
        f"{src}: duplicate column names in the header: score; fix: give read.column_names "
        "(with header: true) naming every column once"
    )
    spec = file_spec(src, read={"column_names": ["y", "g", "score", "score_dup"]})
    table = ingest(spec, tmp_path / "h")
    assert table.column_names == ["y", "g", "score", "score_dup"]
    assert table.num_rows == 1


def test_parquet_json_and_arff_sources(tmp_path: Path) -> None:
    table = pa.table({"y": [1, 0, 1], "g": ["a", "b", "a"], "age": [20, 30, 40]})
    pq.write_table(table, tmp_path / "d.parquet")
    spec = file_spec(tmp_path / "d.parquet", source={"format": "parquet"},
                     columns={"age": "float64"})
    out = ingest(spec, tmp_path / "h", batch_rows=2)
    assert out.column("age").to_pylist() == [20.0, 30.0, 40.0]
    lines = "".join(json.dumps(r) + "\n" for r in table.to_pylist())
    spec = file_spec(write(tmp_path / "d.jsonl", lines), source={"format": "json"})
    assert ingest(spec, tmp_path / "h").to_pylist() == table.to_pylist()
    arff = ("% comment\n@relation toy\n@attribute y integer\n@attribute g {a,b}\n"
            "@attribute age numeric\n@data\n1,a,20\n0,?,30\n")
    spec = file_spec(write(tmp_path / "d.arff", arff), source={"format": "arff"})
    out = ingest(spec, tmp_path / "h")
    assert out.to_pylist() == [{"y": 1, "g": "a", "age": 20.0}, {"y": 0, "g": None, "age": 30.0}]


def test_output_schema_and_check_columns(tmp_path: Path) -> None:
    spec = file_spec(write(tmp_path / "d.csv", CSV), columns={"age": "int64"})
    schema = output_schema(spec, resolve(spec, tmp_path / "h"))
    assert schema.names == ["y", "g", "age", "score", "note"]
    check_columns(spec, schema)
    with pytest.raises(DataError, match="label.column names column 'y'"):
        check_columns(spec, pa.schema([("g", pa.string())]))
