"""Representativeness: hand recomputation, invariants, and the real datasets vs their references."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from audit_versions import SPECS, build_version
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from audits.dataset_audit import audit_dataset, representativeness_summary
from audits.references import FeatureReference, load_reference
from audits.representativeness import (
    chi_square_gof,
    cohens_w,
    compare_feature,
    js_divergence,
    kl_divergence,
    tvd,
)

SHARED_REFS = Path(__file__).resolve().parents[3] / "shared" / "references"


def _hand(counts: dict[str, int], shares: dict[str, float]) -> dict[str, object]:
    """Recompute every measure with plain Python loops (no numpy)."""
    n = sum(counts[c] for c in shares)
    qsum = math.fsum(shares.values())
    p = {c: counts[c] / n for c in shares}
    q = {c: shares[c] / qsum for c in shares}
    m = {c: (p[c] + q[c]) / 2 for c in shares}
    kl_pm = math.fsum(p[c] * math.log2(p[c] / m[c]) for c in shares if p[c] > 0)
    kl_qm = math.fsum(q[c] * math.log2(q[c] / m[c]) for c in shares if q[c] > 0)
    chi2 = math.fsum((counts[c] - n * q[c]) ** 2 / (n * q[c]) for c in shares)
    return {"p": p, "q": q, "tvd": 0.5 * math.fsum(abs(p[c] - q[c]) for c in shares),
            "js": 0.5 * kl_pm + 0.5 * kl_qm, "chi2": chi2, "ratio": {c: p[c] / q[c] for c in q},
            "w": math.sqrt(chi2 / n)}


def _ref(shares: dict[str, float], **kw: object) -> FeatureReference:
    return FeatureReference(feature="race", dimension="race", shares=shares,
                            mapping={c: c for c in shares}, **kw)  # type: ignore[arg-type]


def _check_against_hand(rep: dict, counts: dict[str, int], shares: dict[str, float]) -> None:
    hand = _hand(counts, shares)
    assert rep["tvd"] == pytest.approx(hand["tvd"], abs=1e-12)
    assert rep["js"] == pytest.approx(hand["js"], abs=1e-12)
    assert rep["chi2"] == pytest.approx(hand["chi2"], rel=1e-12)
    assert rep["cohens_w"] == pytest.approx(hand["w"], rel=1e-12)
    assert rep["df"] == len(shares) - 1
    assert rep["p_value"] == pytest.approx(stats.chi2.sf(hand["chi2"], len(shares) - 1),
                                           rel=1e-9, abs=1e-300)
    for g in rep["groups"]:
        assert g["share"] == pytest.approx(hand["p"][g["group"]], abs=1e-12)
        assert g["reference_share"] == pytest.approx(hand["q"][g["group"]], abs=1e-12)
        assert g["ratio"] == pytest.approx(hand["ratio"][g["group"]], rel=1e-12)
        assert g["difference"] == pytest.approx(hand["p"][g["group"]] - hand["q"][g["group"]],
                                                abs=1e-12)


def test_hand_recomputation_synthetic() -> None:
    counts = {"A": 120, "B": 45, "C": 30, "D": 5}
    shares = {"A": 0.5, "B": 0.3, "C": 0.15, "D": 0.05}
    _check_against_hand(compare_feature(counts, _ref(shares)), counts, shares)


def test_no_counterpart_and_missing_are_reported_not_compared() -> None:
    counts = {"A": 50, "B": 40, "Other": 7, "(missing)": 3}
    ref = FeatureReference(feature="race", dimension="race", shares={"A": 0.6, "B": 0.4},
                           mapping={"A": "A", "B": "B"}, no_counterpart=("Other",))
    rep = compare_feature(counts, ref)
    assert rep["n"] == 100 and rep["n_compared"] == 90
    assert [(u["group"], u["n"], u["reason"]) for u in rep["no_counterpart"]] == [
        ("Other", 7, "no counterpart in the reference"), ("(missing)", 3, "missing value")]
    _check_against_hand(rep, {"A": 50, "B": 40}, {"A": 0.6, "B": 0.4})


def test_many_to_one_mapping_sums_counts() -> None:
    ref = FeatureReference(feature="age", dimension="age", shares={"young": 0.5, "old": 0.5},
                           mapping={"[0-10)": "young", "[10-20)": "young", "[20+)": "old"})
    rep = compare_feature({"[0-10)": 10, "[10-20)": 15, "[20+)": 25}, ref)
    assert [(g["group"], g["n"], g["dataset_categories"]) for g in rep["groups"]] == [
        ("young", 25, ["[0-10)", "[10-20)"]), ("old", 25, ["[20+)"])]
    assert rep["tvd"] == 0.0 and rep["chi2"] == 0.0


def test_kl_zero_share_handling() -> None:
    assert kl_divergence(np.array([0.0, 1.0]), np.array([0.5, 0.5])) == pytest.approx(1.0)
    assert math.isinf(kl_divergence(np.array([0.5, 0.5]), np.array([1.0, 0.0])))
    ref = _ref({"A": 1.0, "B": 0.0})
    rep = compare_feature({"A": 5, "B": 5}, ref)
    assert rep["kl"] is None and "infinite" in rep["kl_note"]
    assert rep["df"] == 0 and math.isnan(rep["chi2"])


_counts = st.lists(st.integers(0, 10_000), min_size=2, max_size=6)


@settings(max_examples=60, deadline=None)
@given(_counts, st.data())
def test_invariants(counts: list[int], data: st.DataObject) -> None:
    k = len(counts)
    raw_q = data.draw(st.lists(st.integers(1, 1000), min_size=k, max_size=k))
    q = np.array(raw_q, float) / sum(raw_q)
    if sum(counts) == 0:
        return
    p = np.array(counts, float) / sum(counts)
    assert 0.0 <= tvd(p, q) <= 1.0 + 1e-12
    assert -1e-12 <= js_divergence(p, q) <= 1.0 + 1e-12
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p), abs=1e-12)
    stat, df, _ = chi_square_gof(np.array(counts), q)
    assert df == k - 1
    assert cohens_w(p, q) ** 2 * sum(counts) == pytest.approx(stat, rel=1e-9, abs=1e-9)
    perm = data.draw(st.permutations(range(k)))
    names = [f"g{i}" for i in range(k)]
    a = compare_feature(dict(zip(names, counts, strict=True)),
                        _ref(dict(zip(names, q.tolist(), strict=True))))
    renamed = [f"x{perm[i]}" for i in range(k)]
    b = compare_feature(dict(zip(renamed, counts, strict=True)),
                        _ref(dict(zip(renamed, q.tolist(), strict=True))))
    for key in ("tvd", "js", "chi2", "cohens_w"):
        assert a[key] == pytest.approx(b[key], abs=1e-12)


# --- real datasets against their cited references ---------------------------------------

CASES = [
    ("compas", "compas_broward.yaml", {"race", "sex", "age_cat"}),
    ("adult", "adult_us1994.yaml", {"race", "sex"}),
    ("diabetes_130_us", "diabetes_us2000.yaml", {"race", "gender", "age"}),
]


@pytest.fixture(scope="module")
def real_audits(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    home = tmp_path_factory.mktemp("ledger")
    out = {}
    for name, _, _ in CASES:
        spec, _, paths = build_version(SPECS / f"{name}.yaml", home, shared_data)
        out[name] = (spec, paths, audit_dataset(spec, paths, spec_dir=SPECS))
    return out


@pytest.mark.parametrize(("name", "ref_file", "features"), CASES)
def test_real_dataset_vs_cited_reference(real_audits: dict, name: str, ref_file: str,
                                         features: set[str]) -> None:
    spec, paths, audit = real_audits[name]
    assert set(audit["representativeness"]) == features
    shared = yaml.safe_load((SHARED_REFS / ref_file).read_text())
    ours = load_reference(SPECS / "references" / ref_file, spec=spec)
    for feature, rep in audit["representativeness"].items():
        dim = ours.features[feature].dimension
        cited = shared["marginals"][dim]
        # every reference figure is the cited source's figure, with its source named
        assert {g["group"]: g["reference_share_stated"] for g in rep["groups"]} == cited
        assert rep["citation"] and rep["universe"] == shared["marginals_meta"][dim]["universe"]
        # counts agree with an independent count of the Parquet files
        col = pc.fill_null(pc.cast(_column(paths, feature), "string"), "(missing)")
        direct = dict(zip(*[v.to_pylist() for v in pc.value_counts(col).flatten()],
                          strict=True))
        reported = {u["group"]: u["n"] for u in rep["no_counterpart"]}
        for g in rep["groups"]:
            reported.update({c: direct.get(c, 0) for c in g["dataset_categories"]})
            assert g["n"] == sum(direct.get(c, 0) for c in g["dataset_categories"])
        assert sum(direct.values()) == rep["n"] == audit["rows"]
    summary = representativeness_summary(audit)
    assert set(summary["feature"]) == features


def _column(paths: dict[str, Path], name: str):  # noqa: ANN202 - pyarrow ChunkedArray
    import pyarrow as pa

    return pa.chunked_array([c for p in paths.values()
                             for c in pq.read_table(p, columns=[name]).column(name).chunks])


def test_compas_race_by_hand_to_1e12(real_audits: dict) -> None:
    spec, paths, audit = real_audits["compas"]
    rep = audit["representativeness"]["race"]
    counts = {g["group"]: g["n"] for g in rep["groups"]}
    assert counts == {"African-American": 3696, "Caucasian": 2454, "Hispanic": 637,
                      "Asian": 32, "Native American": 18, "Other": 377}
    shared = yaml.safe_load((SHARED_REFS / "compas_broward.yaml").read_text())
    _check_against_hand(rep, counts, shared["marginals"]["race"])


def test_adult_other_race_reported_without_counterpart(real_audits: dict) -> None:
    rep = real_audits["adult"][2]["representativeness"]["race"]
    other = [u for u in rep["no_counterpart"] if u["group"] == "Other"]
    assert len(other) == 1 and other[0]["n"] > 0
    assert other[0]["reason"] == "no counterpart in the reference"
    assert rep["n_compared"] == rep["n"] - other[0]["n"]


def test_diabetes_old_bands_merged_and_missing_race_apart(real_audits: dict) -> None:
    audit = real_audits["diabetes_130_us"][2]
    age = {g["group"]: g for g in audit["representativeness"]["age"]["groups"]}
    assert age["[80-100)"]["dataset_categories"] == ["[80-90)", "[90-100)"]
    race_missing = [u for u in audit["representativeness"]["race"]["no_counterpart"]
                    if u["group"] == "(missing)"]
    assert race_missing and race_missing[0]["n"] == 2273  # '?' rows of diabetic_data.csv
