"""The quality gate on real data (COMPAS) with injected faults: exact unexpected counts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _quality_helpers import put

from pipelines.errors import GateFailed
from pipelines.ingest import read_tables
from pipelines.quality import MAX_EXAMPLES, QualityReport, gate_failure, run_gate
from pipelines.quality_suite import partition_from_reference
from pipelines.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def compas(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    spec = load_spec(SPECS / "compas.yaml")
    table = read_tables(spec, tmp_path_factory.mktemp("home"), mirrors=[shared_data])["all"]
    return spec, table


def gate(spec, table: pa.Table, tmp_path: Path, **kw) -> QualityReport:
    path = tmp_path / "all.parquet"
    pq.write_table(table, path)
    return run_gate(spec, {"all": path}, **kw)


def find(report: QualityReport, expectation: str, column: str, origin: str | None = None):
    hits = [r for r in report.results if r["expectation"] == expectation
            and r["args"].get("column") == column and (origin is None or r["origin"] == origin)]
    assert len(hits) == 1, hits
    return hits[0]


def test_real_compas_passes_with_every_figure(compas, tmp_path: Path) -> None:
    spec, table = compas
    report = gate(spec, table, tmp_path)
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["success"] is True
    assert doc["summary"] == {"success": True, "evaluated": len(report.results), "failed": 0,
                              "warned": 0}
    assert len([r for r in doc["results"] if r["origin"] == "spec"]) == len(spec.expectations)
    assert doc["rows"] == 7214
    assert doc["great_expectations"].startswith("1.")
    assert doc["fairledger"]
    screening = find(report, "expect_column_values_to_be_between", "days_b_screening_arrest")
    assert screening["severity"] == "warn" and screening["success"] is True
    assert screening["element_count"] == 7214
    assert screening["unexpected_count"] > 0  # ProPublica drops these rows; the gate counts them
    for r in doc["results"]:
        assert set(r) >= {"expectation", "args", "severity", "success", "element_count",
                          "unexpected_count", "unexpected_percent", "unexpected_examples"}
        assert len(r["unexpected_examples"]) <= MAX_EXAMPLES
        assert not any(isinstance(v, dict | list) for v in r["unexpected_examples"])


def test_nulls_in_the_label(compas, tmp_path: Path) -> None:
    spec, table = compas
    report = gate(spec, put(table, "two_year_recid", [0, 10, 20], None), tmp_path)
    hit = find(report, "expect_column_values_to_not_be_null", "two_year_recid")
    assert (hit["success"], hit["severity"], hit["unexpected_count"]) == (False, "error", 3)
    assert report.success is False
    assert report.summary()["failed"] == 1


def test_out_of_range_value(compas, tmp_path: Path) -> None:
    spec, table = compas
    report = gate(spec, put(table, "age", [1, 2], 150), tmp_path)
    hit = find(report, "expect_column_values_to_be_between", "age", "spec")
    assert (hit["success"], hit["unexpected_count"]) == (False, 2)
    assert hit["unexpected_examples"] == [150]
    failed = [r["expectation"] for r in report.failed_errors]
    assert failed == ["expect_column_values_to_be_between"]


def test_unknown_category(compas, tmp_path: Path) -> None:
    spec, table = compas
    report = gate(spec, put(table, "race", [3, 4, 5, 6], "Martian"), tmp_path)
    hit = find(report, "expect_column_values_to_be_in_set", "race")
    assert (hit["success"], hit["unexpected_count"], hit["unexpected_examples"]) == (
        False, 4, ["Martian"])
    line = gate_failure(report, "/l/quarantine/compas/x").line()
    assert line == (
        "compas: quality gate failed (1 of 82 expectations): "
        "expect_column_values_to_be_in_set(race): 4 unexpected; nothing was published, the "
        "attempt is kept in /l/quarantine/compas/x; fix: fix the data or the spec's expectations "
        "and rebuild; details in /l/quarantine/compas/x/quality.json"
    )
    assert isinstance(gate_failure(report, "q"), GateFailed)
    assert gate_failure(report, "q").exit_code == 1


def test_dropped_column(compas, tmp_path: Path) -> None:
    spec, table = compas
    report = gate(spec, table.drop_columns(["priors_count"]), tmp_path)
    failed = {(r["expectation"], r["args"].get("column", r["args"].get("column_A")), r["error"])
              for r in report.failed_errors}
    assert failed == {
        ("expect_column_to_exist", "priors_count", None),
        ("expect_column_type_to_be", "priors_count", "column 'priors_count' does not exist"),
        ("expect_column_values_to_be_between", "priors_count",
         "column 'priors_count' does not exist"),
        ("expect_column_pair_values_to_be_equal", "priors_count",
         "column 'priors_count' does not exist"),
    }


def test_duplicated_ids(compas, tmp_path: Path) -> None:
    spec, table = compas
    ids = table["id"].to_pylist()
    report = gate(spec, put(put(table, "id", [1], ids[0]), "id", [3], ids[2]), tmp_path)
    hit = find(report, "expect_column_values_to_be_unique", "id")
    assert (hit["success"], hit["unexpected_count"]) == (False, 4)
    assert sorted(hit["unexpected_examples"]) == sorted([ids[0], ids[2]])


def test_exact_duplicate_rows_only_warn(compas, tmp_path: Path) -> None:
    spec, table = compas
    doubled = pa.concat_tables([table, table.slice(0, 5)])
    report = gate(spec, doubled, tmp_path)
    dup = [r for r in report.results if r["expectation"] == "expect_compound_columns_to_be_unique"]
    assert (dup[0]["severity"], dup[0]["success"]) == ("warn", False)
    assert dup[0]["unexpected_count"] == 10
    assert dup[0]["unexpected_examples"] == []  # never whole rows
    assert find(report, "expect_column_values_to_be_unique", "id")["unexpected_count"] == 10


def test_kl_divergence_warns_against_a_reference(compas, tmp_path: Path) -> None:
    spec, table = compas
    from pipelines.spec import ReferenceLink

    linked = spec.model_copy(update={"reference": ReferenceLink(
        file="references/compas_broward.yaml", features=["sex"], kl_expectation=True)})
    far = partition_from_reference({"female": 0.9, "male": 0.1}, {"Female": "female",
                                                                   "Male": "male"})
    report = gate(linked, table, tmp_path, reference_partitions={"sex": far})
    kl = find(report, "expect_column_kl_divergence_to_be_less_than", "sex")
    assert (kl["severity"], kl["success"], kl["origin"]) == ("warn", False, "reference")
    assert kl["observed_value"] > 1.0
    assert report.success is True  # a warning never fails the gate


def test_partition_from_reference_renormalises_and_refuses_merged_categories() -> None:
    assert partition_from_reference({"f": 0.25, "m": 0.25}, {"F": "f", "M": "m"}) == {
        "values": ["F", "M"], "weights": [0.5, 0.5]}
    assert partition_from_reference({"x": 1.0}, {"A": "x", "B": "x"}) is None


def test_data_docs_written(compas, tmp_path: Path) -> None:
    spec, table = compas
    report = gate(spec, table.slice(0, 500), tmp_path, data_docs_dir=tmp_path / "docs")
    assert report.data_docs == str(tmp_path / "docs" / "index.html")
    assert (tmp_path / "docs" / "index.html").is_file()
    assert list((tmp_path / "docs" / "validations").rglob("*.html"))
