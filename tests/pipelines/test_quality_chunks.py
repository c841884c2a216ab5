"""Chunked gate == one-shot GX run, expectation by expectation, on real COMPAS data with faults.

The oracle validates the whole table in one GX run with the declared dtypes
(what the gate did before it streamed chunks); the gate must report the same
success, element, missing and unexpected counts, percentages, observed values
and example values for every expectation, whatever the chunk size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from _quality_helpers import put
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest import read_tables
from pipelines.quality import _record, run_gate, validate_table
from pipelines.quality_run import GXRunner, plan_key
from pipelines.quality_source import (
    EXACT_FLOAT_INT,
    ParquetSource,
    TableSource,
    auto_chunk_rows,
    declared_frame,
    to_frame,
)
from pipelines.quality_suite import partition_from_reference, plan_suite
from pipelines.spec import ExpectationSpec, ReferenceLink, load_spec, parse_spec

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"
FIELDS = ("success", "element_count", "unexpected_count", "unexpected_percent", "missing_count",
          "observed_value", "unexpected_examples", "error")
EXTRA = [  # aggregates, uniqueness with nulls and many candidates, mostly on uniqueness
    ExpectationSpec(expectation="expect_column_max_to_be_between",
                    args={"column": "age", "max_value": 100}),
    ExpectationSpec(expectation="expect_column_unique_value_count_to_be_between",
                    args={"column": "race", "min_value": 1, "max_value": 6}),
    ExpectationSpec(expectation="expect_column_proportion_of_non_null_values_to_be_between",
                    args={"column": "c_jail_in", "min_value": 0.99}, severity="warn"),
    ExpectationSpec(expectation="expect_column_values_to_be_unique",
                    args={"column": "days_b_screening_arrest", "mostly": 0.0}, severity="warn"),
    ExpectationSpec(expectation="expect_compound_columns_to_be_unique",
                    args={"column_list": ["decile_score", "race", "days_b_screening_arrest"],
                          "ignore_row_if": "any_value_is_missing"}, severity="warn"),
    ExpectationSpec(expectation="expect_table_row_count_to_be_between",
                    args={"min_value": 7000, "max_value": 8000}),
]

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def faulty(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """COMPAS with faults spread over the table, so that they straddle chunk boundaries."""
    spec = load_spec(SPECS / "compas.yaml")
    table = read_tables(spec, tmp_path_factory.mktemp("home"), mirrors=[shared_data])["all"]
    n = table.num_rows
    ids = table["id"].to_pylist()
    table = put(table, "id", [n - 3], ids[5])  # duplicate id, first and last chunk
    table = put(table, "two_year_recid", [99, 100, 4000], None)
    table = put(table, "age", [1, 1500, n - 2], 150)
    # screening rule: chunk 0 alone fails `mostly`, the whole table passes
    table = put(table, "days_b_screening_arrest", list(range(100)), 999)
    table = pa.concat_tables([table, table.slice(95, 10)])  # exact duplicate rows, far apart
    linked = spec.model_copy(update={
        "expectations": [*spec.expectations, *EXTRA],
        "reference": ReferenceLink(file="references/compas_broward.yaml", features=["sex"],
                                   kl_expectation=True),
    })
    parts = {"sex": partition_from_reference({"f": 0.5, "m": 0.5},
                                             {"Female": "f", "Male": "m"})}
    return linked, table, parts


def one_shot(spec, table: pa.Table, parts: dict | None = None) -> list[dict[str, Any]]:
    """The oracle: every expectation in one GX run on the whole table (declared dtypes)."""
    plan = plan_suite(spec, table.column_names, reference_partitions=parts)
    runner = GXRunner(spec.name)
    _, by_key = runner.run(runner.definition(plan), declared_frame(table))
    return [_record(i, p, by_key[plan_key(p)], table.schema) for i, p in enumerate(plan)]


def _fields(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"expectation": r["expectation"], "args": r["args"], **{f: r[f] for f in FIELDS}}
            for r in results]


@pytest.fixture(scope="module")
def oracle(faulty) -> list[dict[str, Any]]:
    spec, table, parts = faulty
    return _fields(one_shot(spec, table, parts))


def _find(results: list[dict[str, Any]], expectation: str, column: str | None = None) -> dict:
    hits = [r for r in results if r["expectation"] == expectation
            and (column is None or r["args"].get("column") == column)]
    return hits[-1]


def test_the_oracle_sees_every_fault(oracle) -> None:
    assert _find(oracle, "expect_column_values_to_be_unique", "id")["unexpected_count"] == 22
    assert _find(oracle, "expect_column_values_to_not_be_null", "two_year_recid")[
        "unexpected_count"] == 5  # rows 99 and 100 are copied too
    assert _find(oracle, "expect_column_values_to_be_between", "age")["unexpected_count"] == 3
    screening = _find(oracle, "expect_column_values_to_be_between", "days_b_screening_arrest")
    assert screening["success"] is True and screening["unexpected_count"] > 100
    rows = [r for r in oracle if r["expectation"] == "expect_compound_columns_to_be_unique"]
    assert rows[0]["unexpected_count"] == 20  # all columns: 10 rows, each twice
    assert rows[1]["unexpected_count"] > 1000  # (decile, race, days): many candidates
    loose = _find(oracle, "expect_column_values_to_be_unique", "days_b_screening_arrest")
    assert loose["success"] is True and loose["unexpected_count"] > 1000  # mostly=0.0
    assert _find(oracle, "expect_column_kl_divergence_to_be_less_than")["success"] is False


@pytest.mark.parametrize("chunk_rows", [100, 777, 5000, 100_000])
def test_chunked_table_equals_one_shot(faulty, oracle, chunk_rows: int) -> None:
    spec, table, parts = faulty
    report = validate_table(spec, table, reference_partitions=parts, chunk_rows=chunk_rows)
    assert _fields(report.results) == oracle
    assert report.rows == table.num_rows


def test_chunked_parquet_splits_equal_one_shot(faulty, tmp_path: Path) -> None:
    spec, table, parts = faulty
    half = table.num_rows // 2  # split names sort as a, b: the concatenation order
    pq.write_table(table.slice(0, half), tmp_path / "a.parquet", row_group_size=300)
    pq.write_table(table.slice(half), tmp_path / "b.parquet", row_group_size=450)
    paths = {"b_test": tmp_path / "b.parquet", "a_train": tmp_path / "a.parquet"}
    report = run_gate(spec, paths, reference_partitions=parts, chunk_rows=1000)
    assert _fields(report.results) == _fields(one_shot(spec, table, parts))
    assert report.success is False


def test_screening_rule_fails_in_the_first_chunk_alone(faulty) -> None:
    spec, table, _ = faulty
    first = validate_table(spec, table.slice(0, 100))
    hit = _find(first.results, "expect_column_values_to_be_between", "days_b_screening_arrest")
    assert (hit["success"], hit["unexpected_count"]) == (False, 100)


BASE = {
    "name": "toy", "title": "toy", "license": "x", "citation": "x",
    "sources": [{"url": "file:///toy.csv", "sha256": "0" * 64}],
    "columns": {"a": "int64", "b": "int64", "s": "category", "y": "int64"},
    "label": {"column": "y", "positive": [1], "values": [0, 1]},
    "sensitive": [{"column": "s", "categories": ["p", "q"]}],
    "id_column": "a",
    "expectations": [
        {"expectation": "expect_column_values_to_be_between",
         "args": {"column": "b", "min_value": 0, "max_value": 2, "mostly": 0.6}},
        {"expectation": "expect_compound_columns_to_be_unique",
         "args": {"column_list": ["a", "b"]}},
    ],
}
ints = st.one_of(st.none(), st.integers(-3, 3))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(ints, ints, st.sampled_from(["p", "q", "r", None]),
                                st.sampled_from([0, 1])), min_size=1, max_size=40),
       chunk=st.integers(1, 9))
def test_chunk_size_never_changes_a_result(rows, chunk) -> None:
    spec = parse_spec(BASE)
    a, b, s, y = (list(c) for c in zip(*rows, strict=True))
    table = pa.table({"a": pa.array(a, pa.int64()), "b": pa.array(b, pa.int64()),
                      "s": pc.dictionary_encode(pa.array(s, pa.string())),
                      "y": pa.array(y, pa.int64())})
    chunked = validate_table(spec, table, chunk_rows=chunk)
    assert _fields(chunked.results) == _fields(one_shot(spec, table))


def test_value_kinds_keep_integers_exact(tmp_path: Path) -> None:
    big = EXACT_FLOAT_INT + 1
    table = pa.table({"full": [1, 2, 3], "gappy": [1, None, 3], "huge": [big, None, -big],
                      "name": ["x", None, "z"]})
    pq.write_table(table, tmp_path / "t.parquet")
    kinds = {"gappy": "float64", "huge": "nullable"}
    assert TableSource(table).value_kinds() == kinds
    assert ParquetSource({"all": tmp_path / "t.parquet"}).value_kinds() == kinds
    frame = to_frame(table, kinds)
    assert [str(frame[c].dtype) for c in ("full", "gappy", "huge")] == ["int64", "float64", "Int64"]
    assert frame["huge"].tolist()[0] == big
    assert np.isnan(frame["gappy"].tolist()[1])
    assert [str(t) for t in declared_frame(table).dtypes[:3]] == ["Int64", "Int64", "Int64"]


@pytest.mark.parametrize(("rows", "given_rows", "expected"), [
    (7214, None, 65536), (1_000_000, None, 250_000), (10_000_000, None, 1 << 20),
    (10_000_000, 500, 500),
])
def test_auto_chunk_rows(rows: int, given_rows: int | None, expected: int) -> None:
    assert auto_chunk_rows(rows, given_rows) == expected
