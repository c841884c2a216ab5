"""Differential tests against fairlearn 0.15 (the oracle) and a row-level computation."""

from __future__ import annotations

import warnings

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits import fairness as fm
from audits.counts import count_confusion
from audits.engine import audit_counts

TOL = 1e-12
KINDS = ("difference", "ratio")
METHODS = ("between_groups", "to_overall")


@st.composite
def audit_frames(draw) -> pd.DataFrame:
    """Many groups, all-positive and all-negative groups, tiny groups, weights."""
    n_groups = draw(st.integers(2, 8))
    parts = []
    for g in range(n_groups):
        size = draw(st.integers(1, 25))
        mode = draw(st.sampled_from(["mixed", "all_pos", "all_neg", "pred_pos", "pred_neg"]))
        y = draw(st.lists(st.integers(0, 1), min_size=size, max_size=size))
        p = draw(st.lists(st.integers(0, 1), min_size=size, max_size=size))
        y = [1] * size if mode == "all_pos" else [0] * size if mode == "all_neg" else y
        p = [1] * size if mode == "pred_pos" else [0] * size if mode == "pred_neg" else p
        w = draw(st.lists(st.floats(0.25, 4.0), min_size=size, max_size=size))
        sex = draw(st.lists(st.sampled_from(["F", "M"]), min_size=size, max_size=size))
        parts.append(pd.DataFrame({"y": y, "p": p, "w": w, "sex": sex, "g": f"grp{g}"}))
    return pd.concat(parts, ignore_index=True)


def _nan_rate(num_cells, den_cells):
    def metric(y_true, y_pred, sample_weight=None):
        y, p = np.asarray(y_true), np.asarray(y_pred)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        cells = {"tp": (y == 1) & (p == 1), "fp": (y == 0) & (p == 1),
                 "tn": (y == 0) & (p == 0), "fn": (y == 1) & (p == 0)}
        num = sum(w[cells[c]].sum() for c in num_cells)
        den = sum(w[cells[c]].sum() for c in den_cells)
        return num / den if den > 0 else np.nan
    return metric


ROW_LEVEL = {
    "base_rate": _nan_rate(("tp", "fn"), ("tp", "fp", "tn", "fn")),
    "selection_rate": _nan_rate(("tp", "fp"), ("tp", "fp", "tn", "fn")),
    "tpr": _nan_rate(("tp",), ("tp", "fn")),
    "fpr": _nan_rate(("fp",), ("fp", "tn")),
    "tnr": _nan_rate(("tn",), ("fp", "tn")),
    "fnr": _nan_rate(("fn",), ("tp", "fn")),
    "ppv": _nan_rate(("tp",), ("tp", "fp")),
    "npv": _nan_rate(("tn",), ("tn", "fn")),
    "fdr": _nan_rate(("fp",), ("tp", "fp")),
    "for": _nan_rate(("fn",), ("tn", "fn")),
    "accuracy": _nan_rate(("tp", "tn"), ("tp", "fp", "tn", "fn")),
}

FAIRLEARN = {  # fairlearn / scikit-learn metric for each shared rate (0/0 -> 0 there)
    "selection_rate": flm.selection_rate,
    "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate,
    "tnr": flm.true_negative_rate,
    "fnr": flm.false_negative_rate,
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}


def _ours(df: pd.DataFrame, weighted: bool, features=("g",)):
    counts = count_confusion(df, label="y", prediction="p", sensitive=list(features),
                             intersections=[features] if len(features) > 1 else (),
                             weight="w" if weighted else None)
    item = counts.feature("&".join(features))
    cells = fm.confusion_cells(item.flat())
    return item, fm.rates(cells), fm.rates(cells.sum(axis=0))


def _frame(df, metrics, weighted, sf="g"):
    sw = {"sample_weight": df["w"] if weighted else None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flm.MetricFrame(metrics=metrics, y_true=df["y"], y_pred=df["p"],
                               sensitive_features=df[sf],
                               sample_params={k: sw for k in metrics})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_frames(), st.booleans())
def test_group_rates_match_fairlearn_metricframe(df, weighted) -> None:
    item, ours, overall = _ours(df, weighted)
    frame = _frame(df, FAIRLEARN, weighted)
    for name in FAIRLEARN:
        theirs = frame.by_group[name].reindex(list(item.groups)).to_numpy(dtype=float)
        defined = np.isfinite(ours[name])
        np.testing.assert_allclose(ours[name][defined], theirs[defined], rtol=0, atol=TOL)
        # where we say undefined (0/0), scikit-learn reports 0: never a real value
        assert np.all(theirs[~defined] == 0)
        if np.isfinite(overall[name]):
            assert abs(overall[name] - frame.overall[name]) <= TOL
    counts = flm.MetricFrame(metrics=flm.count, y_true=df["y"], y_pred=df["p"],
                             sensitive_features=df["g"]).by_group
    raw = fm.confusion_cells(item.flat(), stat=0).sum(axis=1)
    assert raw.tolist() == counts.reindex(list(item.groups)).tolist()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_frames(), st.booleans())
def test_other_rates_match_a_row_level_computation(df, weighted) -> None:
    item, ours, overall = _ours(df, weighted)
    frame = _frame(df, ROW_LEVEL, weighted)
    for name in ROW_LEVEL:
        theirs = frame.by_group[name].reindex(list(item.groups)).to_numpy(dtype=float)
        np.testing.assert_allclose(ours[name], theirs, rtol=0, atol=TOL, equal_nan=True)


def _fairlearn_disparity(name, kind, method, agg, df, weighted):
    args = {"y_true": df["y"], "y_pred": df["p"], "sensitive_features": df["g"],
            "method": method, "sample_weight": df["w"] if weighted else None}
    func = getattr(flm, f"{name}_{kind}")
    if name == "equalized_odds":
        args["agg"] = agg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(**args)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_frames(), st.booleans())
def test_disparities_match_fairlearn_functions(df, weighted) -> None:
    _, ours, overall = _ours(df, weighted)
    both_classes = df.groupby("g")["y"].nunique().min() == 2
    for name in ("demographic_parity", "equal_opportunity", "equalized_odds"):
        if name != "demographic_parity" and not both_classes:
            continue  # fairlearn counts 0/0 as 0; compared below with NaN-aware metrics
        for kind in KINDS:
            for method in METHODS:
                for agg in ("worst_case", "mean"):
                    got = fm.disparity(ours, overall, name, kind, method, agg)
                    want = _fairlearn_disparity(name, kind, method, agg, df, weighted)
                    np.testing.assert_allclose(got, want, rtol=0, atol=TOL, equal_nan=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_frames(), st.booleans(), st.booleans())
def test_every_disparity_matches_metricframe_methods(df, weighted, intersect) -> None:
    """MetricFrame.difference/ratio on NaN-aware rates: the shared disparity methods."""
    features = ("g", "sex") if intersect else ("g",)
    item, ours, overall = _ours(df, weighted, features)
    frame = _frame(df, ROW_LEVEL, weighted, sf=list(features))
    for name, rates_used in fm.DISPARITIES.items():
        for kind in KINDS:
            for method in METHODS:
                theirs = getattr(frame, kind)(method=method)[list(rates_used)]
                for agg in ("worst_case", "mean"):
                    got = fm.disparity(ours, overall, name, kind, method, agg)
                    if len(rates_used) == 1:
                        want = theirs.iloc[0]
                    elif agg == "mean":
                        want = theirs.mean()
                    else:
                        want = theirs.max() if kind == "difference" else theirs.min()
                    np.testing.assert_allclose(got, want, rtol=0, atol=TOL, equal_nan=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_frames(), st.booleans(), st.randoms(use_true_random=False))
def test_properties_bounds_and_renaming(df, weighted, rnd) -> None:
    counts = count_confusion(df, label="y", prediction="p", sensitive=["g"],
                             weight="w" if weighted else None)
    result = audit_counts(counts, n_boot=0)
    names = sorted(df["g"].unique())
    shuffled = names[:]
    rnd.shuffle(shuffled)
    renamed = df.assign(g=df["g"].map(dict(zip(names, [f"z{s}" for s in shuffled], strict=True))))
    renamed = renamed.sample(frac=1.0, random_state=rnd.randint(0, 1000))
    other = audit_counts(count_confusion(renamed, label="y", prediction="p", sensitive=["g"],
                                         weight="w" if weighted else None), n_boot=0)
    for a, b in zip(result.disparities, other.disparities, strict=True):
        assert a["metric"] == b["metric"]
        if a["value"] is None:
            assert b["value"] is None
            continue
        assert b["value"] == pytest.approx(a["value"], abs=TOL)
        if a["metric"].endswith("_ratio"):
            assert 0.0 <= a["value"] <= 1.0
        else:
            assert a["value"] >= 0.0


def test_undefined_rate_is_nan_not_zero() -> None:
    cells = np.array([[0.0, 3.0, 2.0, 0.0]])  # no actual positives
    rates = fm.rates(cells)
    assert np.isnan(rates["tpr"][0]) and np.isnan(rates["fnr"][0])
    assert rates["fpr"][0] == 0.6
    assert rates["balanced_accuracy"][0] == pytest.approx(0.4)
    assert fm.undefined_reason("tpr") == "no actual positives (tp + fn = 0)"
