from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audits.counts import count_confusion
from audits.engine import audit_counts, audit_predictions
from pipelines.errors import ArgumentError, DataError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 600
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n),
                       "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.37, 0.03]),
                       "sex": rng.choice(["F", "M"], n)})
    df.loc[:4, "race"] = None
    return df


def test_import_audits_is_light_and_exports_the_api() -> None:
    # in a fresh interpreter: under pytest, tests/audits shadows the package as a namespace
    code = ("import sys, audits; light = 'audits.engine' not in sys.modules; "
            "from audits.engine import audit_predictions as f; "
            "print(light, audits.audit_predictions is f, 'fairlearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"]


def test_result_has_the_published_sections(frame) -> None:
    result = audit_predictions(frame, label="y", prediction="p", sensitive=["race", "sex"],
                               intersections=[("race", "sex")], n_boot=200, seed=7)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"metrics", "groups", "disparities", "bootstrap"} <= set(data)
    assert data["bootstrap"] == {"n_boot": 200, "seed": 7, "level": 0.95,
                                 "method": "multinomial over confusion cells"}
    assert data["metrics"]["n"] == 600
    assert 0 <= data["metrics"]["accuracy"]["ci"][0] <= data["metrics"]["accuracy"]["value"]
    features = [g["feature"] for g in data["groups"]]
    assert features.count("race") == 4 and features.count("race&sex") == 8
    missing = next(g for g in data["groups"] if g["group"] == "(missing)")
    assert missing["n"] == 5
    for g in data["groups"]:
        assert g["n"] == g["tp"] + g["fp"] + g["tn"] + g["fn"]
        assert g["small"] == (g["n"] < 30)
    names = {(d["feature"], d["metric"], d["method"], d.get("agg")) for d in data["disparities"]}
    assert ("race&sex", "equalized_odds_ratio", "to_overall", "mean") in names
    assert len(names) == 3 * 24


def test_small_groups_are_flagged_and_their_disparities_low_confidence(frame) -> None:
    result = audit_predictions(frame, label="y", prediction="p", sensitive=["race"], n_boot=50)
    small = {g["group"] for g in result.groups if g["small"]}
    assert small == {"c", "(missing)"}
    assert result.to_dict()["small_groups"][0]["feature"] == "race"
    assert all(d["low_confidence"] for d in result.disparities)
    big = audit_predictions(frame, label="y", prediction="p", sensitive=["sex"], n_boot=0)
    assert not any(d["low_confidence"] for d in big.disparities)
    assert all(d["ci"] is None for d in big.disparities)


def test_undefined_rates_carry_their_reason() -> None:
    df = pd.DataFrame({"y": [0, 0, 1, 0], "p": [0, 1, 1, 0], "g": ["a", "a", "b", "b"]})
    result = audit_predictions(df, label="y", prediction="p", sensitive="g", n_boot=20)
    a = next(g for g in result.groups if g["group"] == "a")
    assert a["tpr"] == {"value": None, "ci": None,
                        "undefined": "no actual positives (tp + fn = 0)"}
    eo = result.disparity("g", "equal_opportunity_difference")
    assert eo["value"] == 0.0
    assert eo["excluded_groups"] == {"tpr": {"groups": ["a"],
                                             "reason": "no actual positives (tp + fn = 0)"}}


def test_disparity_ci_contains_value_and_is_seeded(frame) -> None:
    rng = np.random.default_rng(9)
    frame = frame.assign(p=(rng.random(len(frame)) < np.where(frame.sex == "F", 0.3, 0.6)))
    args = {"label": "y", "prediction": "p", "sensitive": ["sex"], "n_boot": 300}
    one = audit_predictions(frame, seed=1, **args).disparity("sex", "demographic_parity_ratio")
    two = audit_predictions(frame, seed=1, **args).disparity("sex", "demographic_parity_ratio")
    three = audit_predictions(frame, seed=2, **args).disparity("sex", "demographic_parity_ratio")
    assert one["ci"] == two["ci"] != three["ci"]
    assert one["ci"][0] <= one["value"] <= one["ci"][1]


def test_single_group_is_bad_input() -> None:
    df = pd.DataFrame({"y": [0, 1], "p": [0, 1], "g": ["a", "a"]})
    with pytest.raises(DataError) as info:
        audit_predictions(df, label="y", prediction="p", sensitive=["g"])
    assert info.value.line() == ("g: sensitive column 'g' has a single group ('a'), so there is "
                                 "nothing to compare; fix: audit with a sensitive column that "
                                 "has two or more groups")


@pytest.mark.parametrize(("option", "line"), [
    ({"n_boot": -1}, "n_boot: n_boot must be a whole number >= 0, got -1; fix: pass e.g. "
                     "n_boot=1000"),
    ({"task": "ranking"}, "task: unknown task 'ranking'; fix: use one of: binary, multiclass, "
                          "regression"),
])
def test_bad_options(frame, option, line) -> None:
    with pytest.raises(ArgumentError) as info:
        audit_predictions(frame, label="y", prediction="p", sensitive="sex", **option)
    assert info.value.line() == line


def test_merged_partition_counts_give_the_same_audit(frame) -> None:
    args = {"label": "y", "prediction": "p", "sensitive": ["race", "sex"]}
    whole = audit_counts(count_confusion(frame, **args), n_boot=100, seed=3)
    merged = count_confusion(frame[:250], **args) + count_confusion(frame[250:], **args)
    assert audit_counts(merged, n_boot=100, seed=3).to_dict()["disparities"] == (
        whole.to_dict()["disparities"])


def test_multiclass_is_one_vs_rest(frame) -> None:
    rng = np.random.default_rng(0)
    df = frame.assign(y=rng.choice(list("xyz"), len(frame)), p=rng.choice(list("xyz"), len(frame)))
    result = audit_predictions(df, label="y", prediction="p", sensitive=["sex"],
                               task="multiclass", n_boot=50)
    assert result.to_dict()["classes"] == ["x", "y", "z"]
    assert result.metrics["accuracy"]["value"] == pytest.approx((df.y == df.p).mean())
    binary = df.assign(y=(df.y == "y").astype(int), p=(df.p == "y").astype(int))
    direct = audit_predictions(binary, label="y", prediction="p", sensitive=["sex"], n_boot=50)
    ours = [{k: v for k, v in d.items() if k != "class"} for d in result.disparities
            if d["class"] == "y"]
    assert ours == direct.disparities


def test_regression_groups_match_pandas(frame) -> None:
    rng = np.random.default_rng(2)
    df = frame.assign(t=rng.normal(size=len(frame)), s=rng.normal(size=len(frame)))
    result = audit_predictions(df, label="t", prediction="s", sensitive=["sex"],
                               task="regression")
    for g in result.groups:
        sub = df[df.sex == g["group"]]
        err = sub.t - sub.s
        assert g["n"] == len(sub)
        assert g["mae"]["value"] == pytest.approx(err.abs().mean(), rel=1e-12)
        assert g["rmse"]["value"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-12)
        assert g["mean_prediction"]["value"] == pytest.approx(sub.s.mean(), rel=1e-12)
    mae = [g["mae"]["value"] for g in result.groups]
    gap = result.disparity("sex", "mae_difference")["value"]
    assert gap == pytest.approx(max(mae) - min(mae), rel=1e-12)
