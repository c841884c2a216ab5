"""The dataset audit on real data (Adult's documented label rate) and its output contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from audit_versions import SPECS, build_version

from audits.dataset_audit import audit_dataset, representativeness_summary

FINDING_KEYS = {"severity", "code", "message", "feature", "group", "metric", "value",
                "threshold"}


@pytest.fixture(scope="module")
def adult(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):  # noqa: ANN201
    home = tmp_path_factory.mktemp("ledger")
    spec, _, paths = build_version(SPECS / "adult.yaml", home, shared_data)
    return spec, paths


def test_adult_label_rate_as_stated_in_adult_names(adult, tmp_path: Path) -> None:  # noqa: ANN001
    spec, paths = adult
    audit = audit_dataset(spec, paths, spec_dir=SPECS)
    # adult.names: "Probability for the label '>50K' : 23.93% / 24.78% (without unknowns)"
    overall = audit["label_bias"]["overall"]
    assert overall["n"] == 48842
    assert round(100 * overall["base_rate"], 2) == 23.93
    # the same rows without any unknown value: 45222 (train 30162, test 15060)
    clean = {}
    for split, path in paths.items():
        table = pq.read_table(path).drop_null()
        clean[split] = tmp_path / f"{split}.parquet"
        pq.write_table(table, clean[split])
    known = audit_dataset(spec, clean, spec_dir=SPECS)
    assert known["splits"] == {"test": 15060, "train": 30162}
    assert round(100 * known["label_bias"]["overall"]["base_rate"], 2) == 24.78
    # base rates by group agree with a direct count over the same rows
    table = pa.concat_tables(pq.read_table(p) for p in paths.values())
    for row in audit["label_bias"]["features"]["sex"]["groups"]:
        sub = table.filter(pc.equal(table["sex"], row["group"]))
        pos = pc.sum(pc.equal(sub["income"], ">50K")).as_py()
        assert (row["n"], row["positives"]) == (sub.num_rows, pos)
        assert row["base_rate"] == pytest.approx(pos / sub.num_rows, abs=1e-15)
        assert row["ci"][0] < row["base_rate"] < row["ci"][1]
    parity = audit["label_bias"]["features"]["sex"]["parity"]
    rates = {r["group"]: r["base_rate"] for r in audit["label_bias"]["features"]["sex"]["groups"]}
    assert parity["between"] == ["Female", "Male"]
    assert parity["ratio"]["value"] == pytest.approx(rates["Female"] / rates["Male"], rel=1e-12)
    assert parity["difference"]["value"] == pytest.approx(rates["Male"] - rates["Female"])
    lo, hi = parity["ratio"]["ci"]
    assert lo < parity["ratio"]["value"] < hi


def test_output_contract(adult) -> None:  # noqa: ANN001
    spec, paths = adult
    audit = audit_dataset(spec, paths, spec_dir=SPECS, batch_size=5000)
    json.dumps(audit, allow_nan=False)  # NaN became None
    assert audit["format"] == "fairledger.dataset_audit/1"
    assert sum(audit["splits"].values()) == audit["rows"]
    for f in audit["findings"]:
        assert FINDING_KEYS <= set(f) and f["severity"] in ("pass", "warn", "fail")
        assert f["message"].endswith(".")
    per_split = [s["groups"]["race"] for s in audit["by_split"].values()]
    total = {g: sum(p.get(g, 0) for p in per_split) for g in per_split[0]}
    race = audit["representativeness"]["race"]
    assert total["White"] == next(g["n"] for g in race["groups"] if g["group"] == "White")
    assert {p["column"] for p in audit["missingness"] if p["missing"]} >= {"workclass",
                                                                            "occupation"}
    strongest = [p for p in audit["proxies"]["columns"] if p.get("feature") == "sex"][0]
    assert strongest["column"] == "relationship" and strongest["measure"] == "cramers_v"
    summary = representativeness_summary(audit)
    assert set(summary["feature"]["race"]) >= {"tvd", "js", "chi2", "p_value", "cohens_w",
                                               "groups"}


def test_batch_size_does_not_change_the_audit(adult) -> None:  # noqa: ANN001
    spec, paths = adult
    a = audit_dataset(spec, paths, spec_dir=SPECS, batch_size=1 << 20)
    b = audit_dataset(spec, paths, spec_dir=SPECS, batch_size=3001)
    for key in ("representativeness", "label_bias", "coverage", "missingness", "findings"):
        assert a[key] == b[key]
    pa_ = {(r["column"], r.get("feature")): r.get("value") for r in a["proxies"]["columns"]}
    pb = {(r["column"], r.get("feature")): r.get("value") for r in b["proxies"]["columns"]}
    assert pa_.keys() == pb.keys()
    assert all(math.isclose(pa_[k] or 0, pb[k] or 0, rel_tol=1e-9, abs_tol=1e-12) for k in pa_)
