"""Verdicts from thresholds and the plain-language findings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from audits.counts import count_confusion
from audits.engine import audit_counts
from audits.verdict import judge, judge_value, judged_counts
from pipelines.spec import Bound, Thresholds


@pytest.mark.parametrize(("value", "bound", "verdict"), [
    (0.5, Bound(min=0.8), "fail"), (0.85, Bound(min=0.8, warn_min=0.9), "warn"),
    (0.95, Bound(min=0.8, warn_min=0.9), "pass"), (0.2, Bound(max=0.1), "fail"),
    (0.07, Bound(max=0.1, warn_max=0.05), "warn"), (0.01, Bound(max=0.1), "pass"),
    (None, Bound(max=0.1), None),
])
def test_judge_value(value, bound, verdict) -> None:
    assert judge_value(value, bound) == verdict


@given(st.floats(0, 1), st.floats(0, 1))
def test_fail_bounds_dominate_warn_bounds(value, limit) -> None:
    v = judge_value(value, Bound(min=limit, warn_min=limit))
    assert v == ("fail" if value < limit else "pass")


def _frame():
    import pyarrow as pa

    # group a: 100 rows, FPR 0.5; group b: 100 rows, FPR 0.1; group c: 3 rows
    def rows(n_neg, fp, n_pos, tp, g):
        label = [0] * n_neg + [1] * n_pos
        pred = [1] * fp + [0] * (n_neg - fp) + [1] * tp + [0] * (n_pos - tp)
        return label, pred, [g] * (n_neg + n_pos)

    parts = [rows(50, 25, 50, 40, "a"), rows(50, 5, 50, 40, "b"), rows(2, 2, 1, 0, "c")]
    return pa.table({"label": sum((p[0] for p in parts), []),
                     "prediction": sum((p[1] for p in parts), []),
                     "group": sum((p[2] for p in parts), [])})


def test_judge_names_the_group_that_fares_worse() -> None:
    counts = count_confusion(_frame(), label="label", prediction="prediction",
                             sensitive=["group"])
    large = judged_counts(counts, 30)
    assert large is not None and large.features[0].groups == ("a", "b")
    audit = audit_counts(counts, n_boot=0).to_dict()
    audit["disparities"] = audit_counts(large, n_boot=0).disparities
    thresholds = Thresholds.model_validate({"min_group_size": 30,
                                            "equalized_odds_difference": {"max": 0.1}})
    out = judge(audit, thresholds, label="recid")
    assert out["verdict"] == "fail"
    fail = out["findings"][0]
    assert fail == {
        "severity": "fail", "code": "equalized_odds_difference.group", "feature": "group",
        "metric": "equalized_odds_difference",
        "message": "For group, the equalized odds difference is 0.400, above the maximum 0.1: "
                   "a fare worse: their false positive rate is 50.0%, against 10.0% for b "
                   "(40.0 percentage points).",
    }
    info = [f for f in out["findings"] if f["severity"] == "info"]
    assert info[0]["message"] == ("group = c has only 3 rows, fewer than the minimum group "
                                  "size 30; its rates are uncertain.")


def test_unthresholded_disparities_have_no_verdict() -> None:
    counts = count_confusion(_frame(), label="label", prediction="prediction",
                             sensitive=["group"])
    audit = audit_counts(counts, n_boot=0).to_dict()
    out = judge(audit, Thresholds(), label="y")
    assert out["verdict"] == "pass"
    assert all(d["verdict"] is None and d["threshold"] is None for d in out["disparities"])


def test_judged_counts_none_when_one_group_is_large() -> None:
    counts = count_confusion(_frame(), label="label", prediction="prediction",
                             sensitive=["group"])
    assert judged_counts(counts, 101) is None
    flat = judged_counts(counts, 1)
    assert flat is not None and np.array_equal(flat.features[0].flat(),
                                               counts.features[0].flat())
