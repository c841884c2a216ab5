"""result.json, reuse, leaderboard and tamper evidence through the ledger's verify."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _eval_helpers import publish_table, synthetic_table, write_spec

from flows.cli import main
from flows.evaluate import evaluate_model
from pipelines.leaderboard import list_results, read_leaderboard, write_leaderboard
from pipelines.ledger_verify import verify_ledger
from pipelines.results import RESULT_FORMAT, content_digest
from pipelines.spec import load_spec

MODELS = [{"id": "score", "kind": "score_column", "column": "score", "threshold": 5},
          {"id": "logistic", "kind": "baseline", "algorithm": "logistic", "epochs": 3}]
THRESHOLDS = {"min_group_size": 5, "demographic_parity_ratio": {"min": 0.8},
              "equalized_odds_difference": {"max": 0.1}}


@pytest.fixture
def published(tmp_path: Path):
    home = tmp_path / "ledger"
    vid = publish_table(home, "synth", {"train": synthetic_table(500, 1),
                                        "test": synthetic_table(300, 2, id_start=5000)})
    spec = load_spec(write_spec(tmp_path, models=MODELS, thresholds=THRESHOLDS))
    outs = [evaluate_model(spec, ms, home=home, spec_dir=tmp_path, n_boot=30)
            for ms in spec.models]
    write_leaderboard(home, "synth", vid)
    return home, vid, spec, outs


def test_result_document(published) -> None:
    home, vid, _, outs = published
    doc = json.loads(outs[1].result_path.read_bytes())
    assert doc["format"] == RESULT_FORMAT
    assert doc["dataset"]["version"] == vid and doc["dataset"]["split"] == "test"
    assert doc["model"]["kind"] == "baseline" and len(doc["model"]["sha256"]) == 64
    assert sorted(doc["files"]) == ["model.pt", "predictions.parquet"]
    prov = doc["provenance"]
    assert {"packages", "seed", "created_at", "spec_digest", "reuse_key", "code_digest"} <= set(
        prov)
    assert prov["training"]["split"] == "train" and prov["training"]["threads"] == 1
    assert doc["integrity"]["content_sha256"] == content_digest(doc)
    judged = [d for d in doc["disparities"] if d["verdict"] is not None]
    assert {d["metric"] for d in judged} == {"demographic_parity_ratio",
                                             "equalized_odds_difference"}
    assert doc["verdict"] in ("pass", "warn", "fail")
    score_doc = outs[0].result
    assert score_doc["dataset"]["split"] == "all" and score_doc["dataset"]["rows"] == 800


def test_reuse_and_recompute_give_same_content(published, tmp_path) -> None:
    home, vid, spec, outs = published
    again = evaluate_model(spec, spec.models[1], home=home, spec_dir=tmp_path, n_boot=30)
    assert again.reused and again.result == outs[1].result
    fresh = evaluate_model(spec, spec.models[1], home=home, spec_dir=tmp_path, n_boot=30,
                           reuse=False)
    assert not fresh.reused

    def strip(d):
        return {k: v for k, v in d.items() if k not in ("provenance", "integrity")}

    assert strip(fresh.result) == strip(outs[1].result)
    assert fresh.result["files"] == outs[1].result["files"]  # same model and predictions bytes


def test_leaderboard_rows(published) -> None:
    home, vid, _, outs = published
    got_vid, rows = read_leaderboard(home, "synth")
    assert got_vid == vid and {r["model"] for r in rows} == {"score", "logistic"}
    table = pq.read_table(home / "results" / "synth" / vid / "leaderboard.parquet")
    assert table.num_rows == 2
    row = next(r for r in rows if r["model"] == "logistic")
    acc = outs[1].result["metrics"]["accuracy"]
    assert (row["accuracy"], [row["accuracy_ci_low"], row["accuracy_ci_high"]]) == (
        acc["value"], acc["ci"])
    assert row["verdict"] == outs[1].result["verdict"]
    assert row["worst_group_accuracy"] == min(
        g["accuracy"]["value"] for g in outs[1].result["groups"])
    assert [r["model"] for r in list_results(home, "synth")] != []


def test_leaderboard_and_results_cli(published, capsys) -> None:
    home, vid, _, _ = published
    assert main(["leaderboard", "synth", "--home", str(home), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == vid and len(out["rows"]) == 2
    assert main(["leaderboard", "synth", "--home", str(home)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"synth@{vid[:12]}" and text[1].split()[:2] == ["model", "accuracy"]
    assert main(["results", "synth", "--home", str(home), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(r["model"] for r in listed) == ["logistic", "score"]
    assert main(["results", "nothing", "--home", str(home)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def _flip_byte(path: Path, offset: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("name", "kind"), [("result.json", None),
                                            ("predictions.parquet", "altered"),
                                            ("model.pt", "altered")])
def test_verify_detects_changed_byte(published, name, kind) -> None:
    home, vid, _, _ = published
    assert verify_ledger(home) == []
    path = home / "results" / "synth" / vid / "logistic" / name
    _flip_byte(path)
    problems = verify_ledger(home)
    rel = path.relative_to(home).as_posix()
    assert [p["path"] for p in problems] == [rel]
    assert problems[0]["problem"] in ({kind} if kind else {"altered", "unreadable"})


def test_verify_detects_result_of_a_dataset_that_no_longer_verifies(published) -> None:
    home, vid, _, _ = published
    data = home / "datasets" / "synth" / vid / "data" / "test.parquet"
    data.chmod(0o644)
    _flip_byte(data, 100)
    problems = verify_ledger(home)
    paths = {p["path"]: p for p in problems}
    assert data.relative_to(home).as_posix() in paths
    for model in ("logistic", "score"):
        entry = paths[f"results/synth/{vid}/{model}/result.json"]
        assert entry["problem"] == "inconsistent"
        assert entry["detail"].startswith("dataset version of this result no longer verifies")


def test_verify_cli_reports_results(published, capsys) -> None:
    home, vid, _, _ = published
    _flip_byte(home / "results" / "synth" / vid / "score" / "predictions.parquet")
    assert main(["verify", "--home", str(home), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [p["path"] for p in out["problems"]] == [
        f"results/synth/{vid}/score/predictions.parquet"]
