"""The four real specs build from the shared mirror with the published row counts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.ingest import read_tables
from pipelines.sources import resolve_all
from pipelines.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("compas", {"all": 7214}),
        ("adult", {"train": 32561, "test": 16281}),
        ("german_credit", {"all": 1000}),
        ("diabetes_130_us", {"all": 101766}),
    ],
)
def test_real_spec_row_counts(shared_data: Path, tmp_path: Path, name: str, rows: dict) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    tables = read_tables(spec, tmp_path, mirrors=[shared_data])
    assert {k: t.num_rows for k, t in tables.items()} == rows
    for table in tables.values():
        labels = set(pc.unique(table.column(spec.label.column)).to_pylist())
        assert set(spec.label.positive) <= labels
        if spec.label.values:
            assert labels <= set(spec.label.values)
        for feature in spec.sensitive:
            seen = set(pc.unique(table.column(feature.column)).to_pylist()) - {None}
            assert feature.categories is not None and seen <= set(feature.categories)
    assert not (tmp_path / "cache" / "sources").exists()  # served from the mirror, no copy


def test_sources_resolve_from_mirror_with_fingerprints(shared_data: Path, tmp_path: Path) -> None:
    spec = load_spec(SPECS / "diabetes_130_us.yaml")
    (resolved,) = resolve_all(spec, home=tmp_path, mirrors=[shared_data])
    assert resolved.origin == "mirror"
    assert resolved.fingerprint["member"] == "diabetic_data.csv"
    assert resolved.fingerprint["bytes"] == 19159383


def test_adult_labels_normalised_and_whitespace_stripped(shared_data: Path, tmp_path: Path) -> None:
    tables = read_tables(load_spec(SPECS / "adult.yaml"), tmp_path, mirrors=[shared_data])
    test = tables["test"]
    assert pc.value_counts(test.column("income")).to_pylist() == [
        {"values": "<=50K", "counts": 12435}, {"values": ">50K", "counts": 3846}]
    assert test.column("workclass").null_count == 963  # '?' in adult.test
    assert test.column("race").to_pylist()[:2] == ["Black", "White"]


def test_german_codes_decoded_and_sex_derived(shared_data: Path, tmp_path: Path) -> None:
    (table,) = read_tables(load_spec(SPECS / "german_credit.yaml"), tmp_path,
                           mirrors=[shared_data]).values()
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["checking_status"], first["personal_status_code"], first["sex"],
            first["personal_status"], first["age"], first["age_band"], first["credit_risk"]) == (
        "< 0 DM", "A93", "male", "single", 67, ">25", "good")
    counts = dict(zip(*pc.value_counts(table.column("sex")).flatten(), strict=True))
    assert {k.as_py(): v.as_py() for k, v in counts.items()} == {"male": 690, "female": 310}


def test_compas_duplicate_columns_named_and_typed(shared_data: Path, tmp_path: Path) -> None:
    (table,) = read_tables(load_spec(SPECS / "compas.yaml"), tmp_path,
                           mirrors=[shared_data]).values()
    assert table.column("decile_score").equals(table.column("decile_score_dup"))
    assert table.schema.field("dob").type == pa.date32()
    assert table.column("days_b_screening_arrest").null_count == 307
