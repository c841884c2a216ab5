"""Model adapters end to end: each torch kind evaluates and publishes; bad models exit 2."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from _eval_helpers import publish_table, synthetic_table, write_spec

from flows.cli import main
from flows.evaluate import evaluate_model
from pipelines.results import verify_results
from pipelines.spec import load_spec

LINEAR = textwrap.dedent("""
    import torch


    class Linear2(torch.nn.Module):
        def __init__(self, width: int = 2):
            super().__init__()
            self.lin = torch.nn.Linear(width, 1)

        def forward(self, x):
            return torch.sigmoid(self.lin(x)).squeeze(1)


    class Wide(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 3)

        def forward(self, x):
            return self.lin(x)
""")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, str, pa.Table]:
    home = tmp_path / "ledger"
    test = synthetic_table(400, 2, id_start=10_000)
    vid = publish_table(home, "synth", {"train": synthetic_table(600, 1), "test": test})
    return home, vid, test


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "usercode"
    folder.mkdir()
    (folder / "fl_test_models.py").write_text(LINEAR, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid(), torch.nn.Flatten(0))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.5, -1.0]]))
        net[0].bias.zero_()
    return net


def _expected(test: pa.Table) -> np.ndarray:
    x = np.stack([test["x1"].to_numpy(), test["x2"].to_numpy()], axis=1).astype(np.float32)
    return 1 / (1 + np.exp(-(x @ np.array([1.5, -1.0], dtype=np.float32))))


def _torchscript_model(folder: Path) -> dict:
    path = folder / "model.ts"
    torch.jit.save(torch.jit.script(_net()), str(path))
    return {"id": "ts", "kind": "torchscript", "path": "model.ts", "sha256": _sha(path),
            "features": ["x1", "x2"]}


def _state_dict_model(folder: Path) -> dict:
    import fl_test_models

    net = fl_test_models.Linear2(width=2)
    with torch.no_grad():
        net.lin.weight.copy_(torch.tensor([[1.5, -1.0]]))
        net.lin.bias.zero_()
    path = folder / "weights.pt"
    torch.save(net.state_dict(), path)
    return {"id": "sd", "kind": "torch_state_dict", "class": "fl_test_models:Linear2",
            "init": {"width": 2}, "weights": "weights.pt", "sha256": _sha(path),
            "features": ["x1", "x2"]}


def _predictions_model(folder: Path, test: pa.Table) -> dict:
    path = folder / "preds.parquet"
    pq.write_table(pa.table({"id": test["id"], "score": _expected(test).astype(np.float64)}),
                   path)
    return {"id": "pred", "kind": "predictions", "path": "preds.parquet", "sha256": _sha(path),
            "splits": ["test"]}


@pytest.mark.parametrize("kind", ["torchscript", "torch_state_dict", "predictions"])
def test_each_torch_kind_evaluates_and_publishes(kind, ledger, tmp_path, user_module) -> None:
    home, vid, test = ledger
    make = {"torchscript": lambda: _torchscript_model(tmp_path),
            "torch_state_dict": lambda: _state_dict_model(tmp_path),
            "predictions": lambda: _predictions_model(tmp_path, test)}[kind]
    spec_path = write_spec(tmp_path, models=[make()])
    spec = load_spec(spec_path)
    out = evaluate_model(spec, spec.models[0], home=home, spec_dir=tmp_path, n_boot=50)
    assert out.reused is False and out.result_path.is_file()
    doc = out.result
    assert doc["format"] == "fairledger.result/1"
    assert doc["model"]["kind"] == kind and doc["dataset"]["split"] == "test"
    assert doc["dataset"]["rows"] == 400 and doc["dataset"]["version"] == vid
    preds = pq.read_table(out.result_path.parent / "predictions.parquet")
    assert preds.column_names == ["split", "id", "score", "prediction"]
    assert preds["id"].to_pylist() == test["id"].to_pylist()
    np.testing.assert_allclose(preds["score"].to_numpy(), _expected(test), rtol=1e-5)
    expected_pred = (_expected(test) >= 0.5).astype(np.int8)
    assert preds["prediction"].to_numpy().tolist() == expected_pred.tolist()
    y = test["y"].to_numpy()
    assert doc["metrics"]["accuracy"]["value"] == pytest.approx((expected_pred == y).mean())
    assert list(verify_results(home)) == []


def _run_cli(spec_path: Path, home: Path, capsys) -> tuple[int, str]:
    code = main(["evaluate", str(spec_path), "--home", str(home), "--n-boot", "20"])
    err = capsys.readouterr().err.strip()
    return code, err


def _bad_cases(folder: Path, test: pa.Table) -> dict[str, tuple[dict, str]]:
    ts = _torchscript_model(folder)
    sd = _state_dict_model(folder)
    garbage = folder / "garbage.ts"
    garbage.write_bytes(b"not a torchscript archive")
    short = folder / "short.parquet"
    pq.write_table(pa.table({"id": test["id"][:-3], "score": np.zeros(397)}), short)
    extra = folder / "extra.parquet"
    pq.write_table(pa.table({"id": pa.concat_arrays([test["id"].combine_chunks(),
                                                     pa.array([999_999])]),
                             "score": np.zeros(401)}), extra)
    noid = folder / "noid.parquet"
    pq.write_table(pa.table({"row": test["id"], "score": np.zeros(400)}), noid)
    wide = {**sd, "class": "fl_test_models:Wide", "init": {}}
    wide_path = folder / "wide.pt"
    import fl_test_models

    torch.save(fl_test_models.Wide().state_dict(), wide_path)
    wide.update(weights="wide.pt", sha256=_sha(wide_path))
    return {
        "sha": ({**ts, "sha256": "0" * 64},
                f"error: models.ts.sha256: model file sha256 {ts['sha256']} does not match the "
                f"declared {'0' * 64}; fix: if model.ts is the intended file, declare sha256: "
                f"{ts['sha256']}"),
        "load": ({**ts, "path": "garbage.ts", "sha256": _sha(garbage)},
                 "error: models.ts.path: TorchScript file garbage.ts does not load (RuntimeError);"
                 " fix: save the model with torch.jit.save(torch.jit.script(model), path)"),
        "keys": ({**sd, "class": "fl_test_models:Wide", "init": {}},
                 "error: models.sd.weights: state-dict tensor 'lin.weight' has shape (1, 2), "
                 "fl_test_models:Wide expects (3, 2); fix: check the init arguments against "
                 "the weights"),
        "shape": (wide, "error: models.sd: model output has shape (8, 3); expected (8,) or "
                        "(8, 1) for 8 input rows; fix: return one score per row (a probability "
                        "or a logit with a matching threshold)"),
        "missing_ids": ({"id": "pred", "kind": "predictions", "path": "short.parquet",
                         "sha256": _sha(short), "splits": ["test"]},
                        "error: models.pred.path: predictions file misses ids of the dataset "
                        "(3 rows in a batch have no score; first missing id: "
                        f"{test['id'][-3].as_py()}); fix: predict every row of the evaluated "
                        "split(s)"),
        "extra_ids": ({"id": "pred", "kind": "predictions", "path": "extra.parquet",
                       "sha256": _sha(extra), "splits": ["test"]},
                      "error: models.pred.path: predictions file has 1 ids not in the evaluated "
                      "rows of the dataset (first: 999999); fix: keep only ids of the evaluated "
                      "split(s), or set the model's splits"),
        "no_id_column": ({"id": "pred", "kind": "predictions", "path": "noid.parquet",
                          "sha256": _sha(noid), "splits": ["test"]},
                         "error: models.pred.path: predictions file noid.parquet has no id "
                         "column 'id' (columns: row, score); fix: add a 'id' column to the "
                         "predictions file"),
    }


@pytest.mark.parametrize("case", ["sha", "load", "keys", "shape", "missing_ids", "extra_ids",
                                  "no_id_column"])
def test_bad_model_one_line_exit_2_nothing_written(case, ledger, tmp_path, user_module,
                                                   capsys) -> None:
    home, vid, test = ledger
    model, message = _bad_cases(tmp_path, test)[case]
    spec_path = write_spec(tmp_path, models=[model])
    code, err = _run_cli(spec_path, home, capsys)
    assert (code, err) == (2, message)
    assert "\n" not in err
    assert not (home / "results").exists()


def test_state_dict_with_foreign_keys(ledger, tmp_path, user_module, capsys) -> None:
    home, _, _ = ledger
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(1, 2)}, path)
    model = {"id": "sd", "kind": "torch_state_dict", "class": "fl_test_models:Linear2",
             "weights": "other.pt", "sha256": _sha(path), "features": ["x1", "x2"]}
    code, err = _run_cli(write_spec(tmp_path, models=[model]), home, capsys)
    assert (code, err) == (2, "error: models.sd.weights: state-dict keys do not fit "
                              "fl_test_models:Linear2: missing ['lin.bias', 'lin.weight'], "
                              "unexpected ['encoder.weight']; fix: save the state dict of the "
                              "same class and init")
    assert not (home / "results").exists()


def test_pickled_object_is_refused(ledger, tmp_path, user_module, capsys) -> None:
    home, _, _ = ledger
    import fl_test_models

    path = tmp_path / "pickled.pt"
    torch.save(fl_test_models.Linear2(), path)  # a whole module: needs unpickling code
    model = {"id": "sd", "kind": "torch_state_dict", "class": "fl_test_models:Linear2",
             "weights": "pickled.pt", "sha256": _sha(path), "features": ["x1", "x2"]}
    code, err = _run_cli(write_spec(tmp_path, models=[model]), home, capsys)
    assert (code, err) == (2, "error: models.sd.weights: weights file pickled.pt is not a plain "
                              "state dict (UnpicklingError); fix: save it with "
                              "torch.save(model.state_dict(), path)")
