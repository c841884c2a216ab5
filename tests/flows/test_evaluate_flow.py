"""The evaluate_models flow and `fairledger evaluate` on a synthetic version."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))

from _eval_helpers import publish_table, synthetic_table, write_spec  # noqa: E402

from flows.cli import main  # noqa: E402
from flows.evaluate import evaluate_models  # noqa: E402

MODELS = [{"id": "score", "kind": "score_column", "column": "score", "threshold": 5},
          {"id": "mlp", "kind": "baseline", "algorithm": "mlp", "epochs": 2, "hidden": 8}]


def _setup(tmp_path: Path) -> tuple[Path, str, Path]:
    home = tmp_path / "ledger"
    vid = publish_table(home, "synth", {"train": synthetic_table(300, 1),
                                        "test": synthetic_table(200, 2, id_start=1000)})
    return home, vid, write_spec(tmp_path, models=MODELS)


def test_flow_evaluates_every_model_and_writes_leaderboard(tmp_path) -> None:
    home, vid, spec_path = _setup(tmp_path)
    out = evaluate_models(str(spec_path), str(home), n_boot=20)
    assert out["version"] == vid
    assert [r["model"] for r in out["results"]] == ["score", "mlp"]
    assert all(not r["reused"] for r in out["results"])
    assert Path(out["leaderboard"]).is_file()
    again = evaluate_models(str(spec_path), str(home), n_boot=20, model="mlp")
    assert [r["reused"] for r in again["results"]] == [True]


def test_cli_evaluate_json_and_unknown_model(tmp_path, capsys) -> None:
    home, vid, spec_path = _setup(tmp_path)
    code = main(["evaluate", str(spec_path), "--home", str(home), "--model", "score",
                 "--n-boot", "10", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"][0]["result"].endswith(f"results/synth/{vid}/score/result.json")
    code = main(["evaluate", str(spec_path), "--home", str(home), "--model", "nope"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --model: model 'nope' is not in spec 'synth'; fix: use one of: score, mlp")
