from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audits.suppression import is_marker, marker, small_groups, suppress


def _group(name: str, n: int) -> dict:
    return {"feature": "race", "group": name, "n": n, "tp": n // 2, "fp": 1, "tn": 0, "fn": 0,
            "selection_rate": {"value": 0.5, "ci": [0.1, 0.9]}, "suppressed": False}


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 200), min_size=1),
       st.integers(1, 100))
def test_every_group_under_k_is_suppressed_and_no_other(sizes: dict, k: int) -> None:
    doc = {"groups": [_group(g, n) for g, n in sizes.items()]}
    out = suppress(doc, min_group_size=k)
    for entry, (group, n) in zip(out["groups"], sizes.items(), strict=True):
        assert entry["group"] == group
        if n < k:
            assert entry["suppressed"] is True
            assert entry["n"] == entry["tp"] == f"<{k}"
            assert entry["selection_rate"] == {"value": f"<{k}", "ci": None}
        else:
            assert entry == _group(group, n)
    assert doc == {"groups": [_group(g, n) for g, n in sizes.items()]}  # input untouched


def test_derived_figures_of_small_groups_are_suppressed() -> None:
    doc = {"groups": [_group("Big", 500), _group("Tiny", 18)],
           "disparities": [{"feature": "race", "metric": "dp_ratio", "value": 0.4, "ci": [0.3, 0.5],
                            "rate": "selection_rate", "groups_compared": ["Big", "Tiny"]},
                           {"feature": "sex", "metric": "dp_ratio", "value": 0.9,
                            "ci": [0.8, 1.0], "groups_compared": ["M", "F"]}],
           "findings": [{"severity": "warn", "code": "small", "message": "Tiny has 18 rows"}]}
    out = suppress(doc, min_group_size=30)
    assert out["disparities"][0]["value"] == "<30" and out["disparities"][0]["ci"] is None
    assert out["disparities"][0]["rate"] == "selection_rate"
    assert out["disparities"][1] == doc["disparities"][1]
    assert "18" not in out["findings"][0]["message"]
    assert "18" not in json.dumps(out)


def test_count_maps_and_reference_figures() -> None:
    doc = {"by_split": {"test": {"groups": {"race": {"A": 8, "B": 900}}}},
           "representativeness": {"race": {"groups": [
               {"group": "A", "n": 17, "share": 0.01, "share_ci": [0.0, 0.02],
                "reference_share": 0.05, "reference_count": 12}]}}}
    out = suppress(doc, min_group_size=30)
    assert out["by_split"]["test"]["groups"]["race"] == {"A": "<30", "B": 900}
    row = out["representativeness"]["race"]["groups"][0]
    assert row["share"] == "<30" and row["share_ci"] is None
    assert row["reference_share"] == 0.05 and row["reference_count"] == 12
    assert small_groups(doc, min_group_size=30) == {("race", "A"), ("race", "A")}


@pytest.mark.parametrize(("value", "expected"), [("<30", True), ("<5", True), ("30", False),
                                                 ("<x", False), (30, False), ("<", False)])
def test_is_marker(value: object, expected: bool) -> None:
    assert is_marker(value) is expected
    assert marker(30) == "<30"
