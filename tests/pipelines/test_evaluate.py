"""Streaming inference, thresholds, ROC AUC, and ProPublica's COMPAS figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _eval_helpers import publish_real, publish_table, synthetic_table, write_spec
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from flows.evaluate import evaluate_model
from pipelines.auc import roc_auc
from pipelines.evaluate import apply_threshold, choose_splits, run_inference
from pipelines.models import ScoreColumnScorer
from pipelines.spec import load_spec

REPO = Path(__file__).resolve().parents[2]

#: ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (2016): decile_score >= 5,
#: two_year_recid, all 7,214 rows. Counts (tp, fp, tn, fn) recomputed from the file.
PROPUBLICA = {
    "African-American": (3696, 1369, 805, 990, 532),
    "Caucasian": (2454, 505, 349, 1139, 461),
    "Hispanic": (637, 103, 87, 318, 129),
    "Other": (377, 43, 36, 208, 90),
    "Asian": (32, 6, 2, 21, 3),
    "Native American": (18, 9, 3, 5, 1),
}


@pytest.mark.parametrize(("direction", "expected"), [
    (">=", [0, 1, 1]), (">", [0, 0, 1]), ("<=", [1, 1, 0]), ("<", [1, 0, 0])])
def test_apply_threshold(direction, expected) -> None:
    assert apply_threshold(np.array([4.0, 5.0, 6.0]), 5, direction).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=60))
def test_roc_auc_matches_sklearn(pairs) -> None:
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float)
    value, ci = roc_auc(y, s)
    if y.all() or not y.any():
        assert (value, ci) == (None, None)
    else:
        assert value == pytest.approx(roc_auc_score(y, s))
        assert ci[0] <= value <= ci[1]


def test_choose_splits_defaults() -> None:
    spec = load_spec(REPO / "datasets_spec" / "compas.yaml")
    by_id = {m.id: m for m in spec.models}
    assert choose_splits(by_id["compas_score"], ["test", "train"]) == ["test", "train"]
    assert choose_splits(by_id["logistic"], ["test", "train"]) == ["test"]


@pytest.mark.parametrize("batch_rows", [7, 64, 100_000])
def test_streaming_inference_same_for_any_batch_size(tmp_path, batch_rows) -> None:
    home = tmp_path / "ledger"
    table = synthetic_table(300, 4)
    publish_table(home, "synth", {"test": table})
    path = next((home / "datasets" / "synth").glob("*/data/test.parquet"))
    out = tmp_path / "p.parquet"
    inf = run_inference(ScoreColumnScorer("s", "score"), [("test", path)], out, label="y",
                        positive=[1], sensitive=["group"], id_column="id", threshold=5,
                        direction=">=", batch_rows=batch_rows)
    preds = pq.read_table(out)
    stored = pq.read_table(path)
    assert inf.rows == 300 and preds["id"].to_pylist() == stored["id"].to_pylist()
    assert preds["prediction"].to_pylist() == (stored["score"].to_numpy() >= 5).astype(
        int).tolist()
    assert inf.frame.column_names == ["label", "prediction", "score", "group"]
    assert inf.frame["label"].to_pylist() == stored["y"].to_pylist()


def test_failed_inference_leaves_no_predictions(tmp_path) -> None:
    home = tmp_path / "ledger"
    table = synthetic_table(50, 4).set_column(6, "score", pa.array([None] * 50, pa.float64()))
    publish_table(home, "synth", {"test": table})
    path = next((home / "datasets" / "synth").glob("*/data/test.parquet"))
    out = tmp_path / "p.parquet"
    with pytest.raises(Exception, match="score column 'score' has 50 null values"):
        run_inference(ScoreColumnScorer("s", "score"), [("test", path)], out, label="y",
                      positive=[1], sensitive=["group"], id_column="id", threshold=5,
                      direction=">=")
    assert not out.exists()


def test_synthetic_score_model_publishes_auc(tmp_path) -> None:
    home = tmp_path / "ledger"
    table = synthetic_table(400, 5)
    publish_table(home, "synth", {"all": table})
    spec_path = write_spec(tmp_path, models=[{"id": "s", "kind": "score_column",
                                              "column": "score", "threshold": 5}])
    spec = load_spec(spec_path)
    doc = evaluate_model(spec, spec.models[0], home=home, spec_dir=tmp_path, n_boot=20).result
    y, s = table["y"].to_numpy(), table["score"].to_numpy()
    assert doc["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, s))
    group_b = [g for g in doc["groups"] if g["group"] == "b"][0]
    mask = table["group"].to_numpy(zero_copy_only=False) == "b"
    assert group_b["roc_auc"]["value"] == pytest.approx(roc_auc_score(y[mask], s[mask]))


@pytest.mark.realdata
def test_compas_score_reproduces_propublica(shared_data, tmp_path) -> None:
    spec_path = REPO / "datasets_spec" / "compas.yaml"
    spec = load_spec(spec_path)
    home = tmp_path / "ledger"
    publish_real(spec_path, home)
    ms = next(m for m in spec.models if m.id == "compas_score")
    doc = evaluate_model(spec, ms, home=home, spec_dir=spec_path.parent, n_boot=100).result
    assert doc["dataset"]["rows"] == 7214 and doc["dataset"]["split"] == "all"
    race = {g["group"]: g for g in doc["groups"] if g["feature"] == "race"}
    got = {k: (g["n"], g["tp"], g["fp"], g["tn"], g["fn"]) for k, g in race.items()}
    assert got == PROPUBLICA
    aa, white = race["African-American"], race["Caucasian"]
    assert round(aa["fpr"]["value"], 3) == 0.448 and round(white["fpr"]["value"], 3) == 0.235
    assert round(aa["fnr"]["value"], 3) == 0.280 and round(white["fnr"]["value"], 3) == 0.477
    eod = next(d for d in doc["disparities"] if d["feature"] == "race"
               and d["metric"] == "equalized_odds_difference" and d["agg"] == "worst_case")
    assert eod["verdict"] == "fail"
    finding = next(f for f in doc["findings"] if f["code"] == "equalized_odds_difference.race")
    assert finding["message"].startswith(
        "For race, the equalized odds difference is 0.397 (95% CI ")
    assert finding["message"].endswith(
        "above the maximum 0.1: Other fare worse: their true positive rate is 32.3%, against "
        "72.0% for African-American (39.7 percentage points).")
    assert finding["severity"] == "fail"
