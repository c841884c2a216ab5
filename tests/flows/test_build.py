"""End-to-end `fairledger build` on the real datasets, as real Prefect flow runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.cli import main
from pipelines.store import list_versions, read_manifest, verify_ledger

EXPECTED_ROWS = {
    "compas": 7214,
    "adult": 32561 + 16281,
    "german_credit": 1000,
    "diabetes_130_us": 101766,
}


def _build_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    code = main(["build", *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def _tree(home: Path) -> dict[str, float]:
    return {
        str(p.relative_to(home)): p.stat().st_mtime
        for p in home.rglob("*")
        if "cache" not in p.parts and "locks" not in p.parts
    }


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_real_spec_builds_with_documented_rows(
    name: str,
    tmp_path: Path,
    spec_path: Path,
    shared_data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    [out] = _build_json(capsys, str(spec_path / f"{name}.yaml"), "--home", str(tmp_path))
    assert out["name"] == name and out["status"] == "published"
    assert sum(out["rows"].values()) == EXPECTED_ROWS[name]
    manifest = read_manifest(tmp_path, name, out["version"])
    assert {k: v["rows"] for k, v in manifest["splits"].items()} == out["rows"]
    assert {"quality.json", "audit.json"} <= set(manifest["files"])
    assert verify_ledger(tmp_path) == []


@pytest.mark.realdata
def test_adult_splits_follow_the_publisher(
    tmp_path: Path, spec_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [out] = _build_json(capsys, str(spec_path / "adult.yaml"), "--home", str(tmp_path))
    assert out["rows"] == {"train": 32561, "test": 16281}


@pytest.mark.realdata
def test_rebuild_is_unchanged_and_writes_nothing(
    tmp_path: Path, spec_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(spec_path / "compas.yaml")
    [first] = _build_json(capsys, spec, "--home", str(tmp_path))
    before = _tree(tmp_path)
    [second] = _build_json(capsys, spec, "--home", str(tmp_path))
    assert second["status"] == "unchanged"
    assert second["version"] == first["version"]
    assert _tree(tmp_path) == before
    assert [v["version"] for v in list_versions(tmp_path, "compas")] == [first["version"]]


@pytest.mark.realdata
def test_human_output_names_version_status_and_rows(
    tmp_path: Path, spec_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["build", str(spec_path / "german_credit.yaml"), "--home", str(tmp_path)])
    line = capsys.readouterr().out.strip()
    assert code == 0
    name, version, status, *rest = line.split()
    assert (name, status, len(version)) == ("german_credit", "published", 64)
    assert "rows:" in rest


def test_bad_spec_fails_before_any_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["build", str(tmp_path / "missing.yaml"), "--home", str(tmp_path / "h")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        f"error: {tmp_path / 'missing.yaml'}: spec file not found; "
        "fix: check the path (specs live in datasets_spec/*.yaml)"
    )
    assert not (tmp_path / "h").exists()


@pytest.mark.realdata
def test_home_that_cannot_be_created(
    tmp_path: Path, spec_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["build", str(spec_path / "compas.yaml"), "--home", str(blocker / "ledger")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        f"error: --home {blocker / 'ledger'}: cannot create the ledger folder (Not a directory); "
        "fix: pass --home (or set FAIRLEDGER_HOME to) a writable folder"
    )


@pytest.mark.realdata
def test_data_docs_are_listed_in_the_manifest(
    tmp_path: Path, spec_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(spec_path / "german_credit.yaml")
    code = main(["build", spec, "--home", str(tmp_path), "--data-docs", "--json"])
    [out] = json.loads(capsys.readouterr().out)
    assert code == 0
    files = read_manifest(tmp_path, "german_credit", out["version"])["files"]
    assert "data_docs/index.html" in files
    assert verify_ledger(tmp_path) == []
