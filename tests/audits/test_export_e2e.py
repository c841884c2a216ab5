"""End to end on the real COMPAS data: run (gate, audit, three models), report, export."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from smallcells import small_cells
from test_export import assert_no_small_cells

from flows.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.realdata
@pytest.mark.slow
def test_compas_build_report_export(shared_data: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "ledger"
    spec = str(REPO / "datasets_spec" / "compas.yaml")
    assert main(["run", spec, "--home", str(home), "--n-boot", "100"]) == 0
    report = tmp_path / "compas.html"
    assert main(["report", "compas", "--home", str(home), "--spec", spec,
                 "--out", str(report)]) == 0
    bundle = tmp_path / "compas.zip"
    assert main(["export", "compas", "--home", str(home), "--spec", spec,
                 "--out", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    audit = json.loads(next(home.glob("datasets/compas/*/audit.json")).read_bytes())
    results = [json.loads(p.read_bytes()) for p in home.glob("results/compas/*/*/result.json")]
    assert sorted(r["model"]["id"] for r in results) == ["compas_score", "logistic", "mlp"]
    assert {f"model_cards/{m}.md" for m in ("compas_score", "logistic", "mlp")} <= set(files)
    assert "Native American" in small_cells([audit, *results], 30)
    assert_no_small_cells({**files, "report.html": report.read_bytes()}, [audit, *results], 30,
                          tmp_path)
    assert main(["export", "compas", "--version", "0" * 12, "--home", str(home),
                 "--out", str(tmp_path / "x.zip")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
