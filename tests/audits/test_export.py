from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from report_inputs import XSS
from smallcells import leaks, small_cells, small_keys, text_units

from audits.export import build_bundle, safe_file_name
from flows.cli import main

EXPECTED = {"summary.pdf", "summary.html", "findings.csv", "metrics.csv", "croissant.json",
            "datasheet.md", "manifest.json", "model_cards/compas_score.md"}


@pytest.fixture(scope="module")
def bundle(version_inputs: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "compas.zip"
    build_bundle(**version_inputs, out=out)
    return out


def _files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_bundle_files_and_manifest_digests(bundle: Path) -> None:
    files = _files(bundle)
    assert set(files) == EXPECTED
    manifest = json.loads(files["manifest.json"])
    assert manifest["dataset"]["version"] == "ab" * 32
    assert set(manifest["files"]) == EXPECTED - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()
    assert manifest["packages"]["weasyprint"] != "not installed"
    assert {"feature": "race", "group": "Native American"} in manifest["suppression"]["groups"]
    assert files["summary.pdf"].startswith(b"%PDF")


def test_croissant_validates_with_mlcroissant(bundle: Path, tmp_path: Path) -> None:
    import mlcroissant as mlc
    from absl import logging as absl_logging

    # mlcroissant imports absl, whose handler keeps the sys.stderr of this moment: pytest's
    # capture buffer. The first logging.config.dictConfig of the session (Prefect's) closes
    # every handler, absl's included, and with it that buffer, which crashed pytest when a
    # flow test came next. Point absl's handler at the process's own stderr.
    absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__

    path = tmp_path / "croissant.json"
    path.write_bytes(_files(bundle)["croissant.json"])
    dataset = mlc.Dataset(jsonld=path)  # raises ValidationError on any error
    doc = json.loads(path.read_text())
    for field in ("rai:dataCollection", "rai:dataBiases", "rai:dataLimitations",
                  "rai:personalSensitiveInformation", "rai:dataUseCases",
                  "rai:dataSocialImpact"):
        assert doc[field]
    assert dataset.metadata.name == "compas"
    shas = {f["name"]: f["sha256"] for f in doc["distribution"]}
    assert shas["split-all"] == "12" * 32


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext not installed: apt-get install -y poppler-utils (.ci/run does)")
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def assert_no_small_cells(files: dict[str, bytes], docs: list[dict], k: int,
                          tmp_path: Path) -> None:
    cells = small_cells(docs, k)
    assert cells, "the fixture must contain small groups"
    for name, data in files.items():
        units = (_pdf_text(data, tmp_path).splitlines() if name.endswith(".pdf")
                 else text_units(name, data))
        assert leaks(units, cells) == [], name
    rows = list(csv.DictReader(io.StringIO(files["metrics.csv"].decode())))
    keys = small_keys(docs, k)
    small_rows = [r for r in rows if (r["model"], r["feature"], r["group"]) in keys]
    assert small_rows
    assert all(r["suppressed"] == "true" and r["n"] == f"<{k}" for r in small_rows)
    shown = [r for r in rows if r["suppressed"] == "false"]
    assert all(int(r["n"]) >= k for r in shown)


def test_every_file_has_only_suppressed_small_cells(bundle: Path, version_inputs: dict,
                                                    tmp_path: Path) -> None:
    files = _files(bundle)
    assert "Native American" in _pdf_text(files["summary.pdf"], tmp_path)
    assert_no_small_cells(files, [version_inputs["audit"], *version_inputs["results"]], 30,
                          tmp_path)


def test_hostile_ids_give_safe_file_names(hostile_inputs: dict, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    build_bundle(**hostile_inputs, out=out)
    files = _files(out)
    cards = sorted(n for n in files if n.startswith("model_cards/"))
    assert len(cards) == 2
    for name in cards:
        assert name.count("/") == 1 and ".." not in name and "<" not in name
    for name, data in files.items():
        if name.endswith((".html", ".md")):
            for payload in XSS:
                assert payload.encode() not in data, name


@pytest.mark.parametrize(("raw", "expected"), [
    ("compas_score", "compas_score"),
    ("../../etc/passwd", "etc_passwd-"),
    ("<script>", "script-"),
    ("", "model-"),
])
def test_safe_file_name(raw: str, expected: str) -> None:
    name = safe_file_name(raw)
    assert name.startswith(expected)
    assert "/" not in name and not name.startswith(".")


@pytest.mark.parametrize("command", ["export", "report"])
def test_unknown_dataset_is_one_line_exit_2(command: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    suffix = ".zip" if command == "export" else ".html"
    code = main([command, "nosuch", "--home", str(tmp_path), "--out", str(tmp_path / f"x{suffix}")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"error: {tmp_path}: dataset 'nosuch' not found in the ledger; fix: build it "
                   "first with 'fairledger build SPEC', or pass the right --home\n")
    assert not (tmp_path / f"x{suffix}").exists()
