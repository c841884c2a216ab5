"""`fairledger run` on COMPAS: the main job as a recorded Prefect flow run, then reused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main
from pipelines.store import verify_ledger

# ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (2016): decile_score >= 5
# on all 7,214 rows of compas-scores-two-years.csv, outcome two_year_recid.
PROPUBLICA = {
    "African-American": {"tp": 1369, "fp": 805, "tn": 990, "fn": 532},
    "Caucasian": {"tp": 505, "fp": 349, "tn": 1139, "fn": 461},
}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["run", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def _flow_runs(name: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return list(client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[name]))))


def _artifact_keys(flow_run_id: Any) -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {str(a.key) for a in found}


def _step_logs(flow_run_ids: list[Any]) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids)), limit=200
        )
    return [log.message for log in logs if log.name == "fairledger"]


@pytest.mark.realdata
def test_run_compas_publishes_results_report_bundle_and_reuses(
    tmp_path: Path,
    spec_path: Path,
    shared_data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = str(spec_path / "compas.yaml")
    names = ("publish_benchmark", "build_dataset", "evaluate_models")
    before = {r.id for name in names for r in _flow_runs(name)}
    first = _run(capsys, spec, "--home", str(tmp_path), "--n-boot", "200")
    assert first["status"] == "published"
    assert set(first["reused"]) == {"compas_score", "logistic", "mlp"}
    assert not any(first["reused"].values())

    score = json.loads(Path(next(p for p in first["results"] if "/compas_score/" in p)).read_text())
    assert score["dataset"]["rows"] == 7214
    by_race = {g["group"]: g for g in score["groups"] if g["feature"] == "race"}
    for race, cells in PROPUBLICA.items():
        assert {k: by_race[race][k] for k in cells} == cells
    assert round(by_race["African-American"]["fpr"]["value"], 3) == 0.448
    assert round(by_race["Caucasian"]["fnr"]["value"], 3) == 0.477

    runs = [r for r in _flow_runs("publish_benchmark") if r.id not in before]
    assert len(runs) == 1 and runs[0].state is not None and runs[0].state.is_completed()
    assert {"fairledger-compas-summary", "fairledger-compas-groups",
            "fairledger-compas-disparities"} <= _artifact_keys(runs[0].id)
    steps = _step_logs([r.id for name in names for r in _flow_runs(name) if r.id not in before])
    assert "ingest compas (all rows): started" in steps
    assert any(m.startswith("ingest compas (all rows): 7,214 rows in ") for m in steps)
    assert any(m.startswith("inference ") for m in steps)

    assert Path(first["report"]).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with zipfile.ZipFile(first["bundle"]) as bundle:
        assert {"summary.pdf", "croissant.json", "manifest.json"} <= set(bundle.namelist())
    assert verify_ledger(tmp_path) == []

    second = _run(capsys, spec, "--home", str(tmp_path), "--n-boot", "200")
    assert second["status"] == "unchanged" and second["version"] == first["version"]
    assert all(second["reused"].values())
    assert sorted(second["results"]) == sorted(first["results"])


def test_run_rejects_an_unknown_runner_before_any_flow(
    tmp_path: Path, spec_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(spec_path / "compas.yaml"), "--runner", "spark",
                 "--home", str(tmp_path / "h")])
    assert code == 2
    assert capsys.readouterr().err == (
        "error: --runner: unknown task runner 'spark'; fix: use one of: local, dask\n"
    )
    assert not (tmp_path / "h").exists()
