"""``fairledger check`` and the gate inside ``fairledger build`` (quarantine, exit 1)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from flows.cli import main

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"
CSV_NAME = "compas-scores-two-years.csv"

pytestmark = pytest.mark.realdata


def faulty_compas(shared_data: Path, tmp_path: Path, fault: str) -> Path:
    """Write a faulty copy of the COMPAS CSV into a mirror and a spec pinning it."""
    with open(shared_data / "compas" / CSV_NAME, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    label, race, ident = len(header) - 1, header.index("race"), header.index("id")
    if fault == "label_nulls":
        for r in (1, 11, 21):
            rows[r][label] = ""
    elif fault == "unknown_category":
        for r in (2, 3, 4, 5):
            rows[r][race] = "Martian"
    elif fault == "duplicated_ids":
        rows[2][ident] = rows[1][ident]
    mirror = tmp_path / "mirror" / "compas"
    mirror.mkdir(parents=True)
    data = mirror / CSV_NAME
    with open(data, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    doc = yaml.safe_load((SPECS / "compas.yaml").read_text(encoding="utf-8"))
    doc["sources"][0]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    doc["reference"]["file"] = str(SPECS / doc["reference"]["file"])
    spec = tmp_path / "compas.yaml"
    spec.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return spec


def test_check_passes_on_real_compas(shared_data: Path, tmp_path: Path, capsys) -> None:
    code = main(["check", str(SPECS / "compas.yaml"), "--home", str(tmp_path), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["success"] is True and doc["rows"] == 7214
    assert not (tmp_path / "datasets").exists()  # check publishes nothing


def test_check_prints_a_table(shared_data: Path, tmp_path: Path, capsys) -> None:
    assert main(["check", str(SPECS / "german_credit.yaml"), "--home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "quality gate: german_credit (1,000 rows)" in out
    assert "expect_column_values_to_be_in_set" in out


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("label_nulls", "expect_column_values_to_not_be_null(two_year_recid): 3 unexpected"),
        ("unknown_category", "expect_column_values_to_be_in_set(race): 4 unexpected"),
        ("duplicated_ids", "expect_column_values_to_be_unique(id): 2 unexpected"),
    ],
)
def test_check_fails_on_faulty_data(shared_data, tmp_path, monkeypatch, capsys, fault, message):
    spec = faulty_compas(shared_data, tmp_path, fault)
    monkeypatch.setenv("FAIRLEDGER_MIRROR", str(tmp_path / "mirror"))
    code = main(["check", str(spec), "--home", str(tmp_path / "ledger")])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"error: compas: quality gate failed (1 of 82 expectations): {message}\n"


def test_check_rejects_a_bad_expectation_before_ingest(tmp_path: Path, capsys) -> None:
    doc = yaml.safe_load((SPECS / "compas.yaml").read_text(encoding="utf-8"))
    doc["expectations"][1]["args"]["min"] = doc["expectations"][1]["args"].pop("min_value")
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(doc), encoding="utf-8")
    code = main(["check", str(spec), "--home", str(tmp_path / "ledger")])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {spec}: expectations[1] expect_column_values_to_be_between: unknown argument "
        "'min'; fix: did you mean 'min_value'? valid arguments: column, mostly, row_condition, "
        "condition_parser, min_value, max_value, strict_min, strict_max\n"
    )
    assert not (tmp_path / "ledger").exists()


def test_build_quarantines_a_failed_gate(
    shared_data, tmp_path, monkeypatch, capsys, prefect_harness
):
    home = tmp_path / "ledger"
    assert main(["build", str(SPECS / "compas.yaml"), "--home", str(home), "--json"]) == 0
    refs = json.loads((home / "datasets" / "compas" / "refs.json").read_text())
    versions = sorted(p.name for p in (home / "datasets" / "compas").iterdir() if p.is_dir())
    quality = json.loads((home / "datasets" / "compas" / versions[0] / "quality.json").read_text())
    assert quality["success"] is True and quality["summary"]["failed"] == 0
    capsys.readouterr()

    spec = faulty_compas(shared_data, tmp_path, "label_nulls")
    monkeypatch.setenv("FAIRLEDGER_MIRROR", str(tmp_path / "mirror"))
    assert main(["build", str(spec), "--home", str(home)]) == 1
    err = capsys.readouterr().err
    assert "expect_column_values_to_not_be_null(two_year_recid): 3 unexpected" in err
    assert json.loads((home / "datasets" / "compas" / "refs.json").read_text()) == refs
    after = sorted(p.name for p in (home / "datasets" / "compas").iterdir() if p.is_dir())
    assert after == versions
    attempts = list((home / "quarantine" / "compas").iterdir())
    assert len(attempts) == 1
    kept = json.loads((attempts[0] / "quality.json").read_text())
    assert kept["success"] is False and kept["summary"]["failed"] == 1
