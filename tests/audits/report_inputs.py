"""Fixtures of the report/export tests: a COMPAS-shaped version built by hand.

The result documents come from the real audit engine
(:func:`audits.engine.audit_predictions`) over a synthetic predictions table
with COMPAS's group sizes (Native American: 18 rows, Asian: 32), plus the
verdict fields of ``fairledger.result/1`` (DESIGN.md). The dataset audit
follows the shape the dataset audit publishes (representativeness with
shares, Wilson intervals and reference shares; base rates by group).
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest

from pipelines.spec import DatasetSpec, parse_spec

XSS = ('<script>alert(1)</script>', '"><img src=x onerror=alert(1)>')

RACE = {"African-American": 3696, "Caucasian": 2454, "Hispanic": 637, "Other": 377,
        "Asian": 32, "Native American": 18}
SEX_SHARE_MALE = 0.81
REFERENCE = {"African-American": 0.13, "Caucasian": 0.61, "Hispanic": 0.18, "Other": 0.02,
             "Asian": 0.055, "Native American": 0.015}


def wilson(k: int, n: int, z: float = 1.959964) -> list[float]:
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return [max(0.0, mid - half), min(1.0, mid + half)]


def spec_dict(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "compas", "title": "COMPAS recidivism (ProPublica)",
        "description": "Two-year recidivism of defendants scored by COMPAS in Broward County.",
        "license": "unspecified (cite the article)",
        "citation": "Larson, Mattu, Kirchner, Angwin (2016). How We Analyzed the COMPAS "
                    "Recidivism Algorithm. ProPublica.",
        "homepage": "https://github.com/propublica/compas-analysis",
        "sources": [{"url": "https://example.org/compas-scores-two-years.csv",
                     "sha256": "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"}],
        "label": {"column": "two_year_recid", "positive": [1]},
        "sensitive": [{"column": "race", "description": "race as recorded by the sheriff"},
                      {"column": "sex"}],
        "intersections": ["race&sex"],
        "split": {"kind": "all"},
        "models": [{"id": "compas_score", "kind": "score_column", "column": "decile_score",
                    "threshold": 5}],
        "thresholds": {"min_group_size": 30,
                       "demographic_parity_ratio": {"min": 0.8, "warn_min": 0.9}},
        "datasheet": {"motivation": "Audit the fairness of a pretrial risk score.",
                      "collection": "Public records requests to Broward County, Florida.",
                      "personal_information": "Race, sex and age of defendants.",
                      "limitations": "One county, 2013-2014; arrest is a proxy for crime."},
    }
    base.update(over)
    return base


def _rows(race: dict[str, int], seed: int = 7) -> pa.Table:
    """A deterministic predictions table with the given race group sizes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    races, sexes, labels, preds = [], [], [], []
    for i, (group, n) in enumerate(race.items()):
        base = 0.35 + 0.05 * (i % 3)
        y = rng.random(n) < base
        p = np.where(y, rng.random(n) < 0.7 - 0.05 * i, rng.random(n) < 0.25 + 0.04 * i)
        races += [group] * n
        sexes += ["Male" if s else "Female" for s in rng.random(n) < SEX_SHARE_MALE]
        labels += y.astype(int).tolist()
        preds += p.astype(int).tolist()
    return pa.table({"race": races, "sex": sexes, "y": labels, "p": preds})


def make_result(model_id: str, race: dict[str, int], *, bad_finding: str = "") -> dict[str, Any]:
    from audits.engine import audit_predictions

    table = _rows(race)
    audit = audit_predictions(table, label="y", prediction="p", sensitive=["race", "sex"],
                              intersections=[("race", "sex")], n_boot=200, seed=0).to_dict()
    for d in audit["disparities"]:
        if d["metric"] == "demographic_parity_ratio" and d["method"] == "between_groups":
            d["threshold"] = {"min": 0.8, "warn_min": 0.9}
            v = d["value"]
            d["verdict"] = "fail" if v < 0.8 else ("warn" if v < 0.9 else "pass")
    small = [g for g in audit["groups"] if g["feature"] == "race" and g["n"] < 30]
    findings = [{"severity": "fail", "code": "disparity.demographic_parity_ratio",
                 "feature": "race", "metric": "demographic_parity_ratio",
                 "message": "The selection rate of one race group is well below another's."}]
    findings += [{"severity": "warn", "code": "group.small", "feature": "race",
                  "group": g["group"], "n": g["n"],
                  "message": f"Group {g['group']} has only {g['n']} rows; rates unreliable."}
                 for g in small]
    if bad_finding:
        findings.append({"severity": "info", "code": "note", "message": bad_finding})
    return {
        "format": "fairledger.result/1",
        "dataset": {"name": "compas", "version": "ab" * 32, "split": "all", "rows": table.num_rows},
        "model": {"id": model_id, "kind": "score_column", "sha256": "cd" * 32, "threshold": 5},
        "provenance": {"fairledger": "0.1.0", "python": "3.11.7", "packages": {"numpy": "2"},
                       "seed": 0, "created_at": "2025-01-01T00:00:00+00:00",
                       "spec_digest": "ef" * 32},
        "metrics": audit["metrics"], "groups": audit["groups"],
        "disparities": audit["disparities"],
        "representativeness": {"feature": {"race": {"tvd": 0.31}}},
        "quality": {"success": True, "evaluated": 14, "failed": 0},
        "verdict": "fail", "findings": findings,
    }


def make_audit(race: dict[str, int]) -> dict[str, Any]:
    total = sum(race.values())
    base_rows, rep_rows = [], []
    for i, (group, n) in enumerate(race.items()):
        share = n / total
        rep_rows.append({"group": group, "n": n, "share": {"value": share, "ci": wilson(n, total)},
                         "reference_share": REFERENCE.get(group, 0.01),
                         "ratio": share / REFERENCE.get(group, 0.01)})
        pos = round(n * (0.35 + 0.05 * (i % 3)))
        base_rows.append({"feature": "race", "group": group, "n": n, "positives": pos,
                          "base_rate": {"value": pos / n, "ci": wilson(pos, n)}})
    small = [g for g, n in race.items() if n < 30]
    return {
        "format": "fairledger.audit/1", "rows": total, "min_group_size": 30,
        "representativeness": {"race": {"reference": {"name": "US census 2010"},
                                        "groups": rep_rows, "tvd": 0.31, "js": 0.12}},
        "base_rates": base_rows,
        "findings": [{"severity": "warn", "code": "representation.small_group",
                      "feature": "race", "group": g, "n": race[g],
                      "message": f"{g} has {race[g]} rows, fewer than 30."} for g in small],
    }


def make_manifest(total: int) -> dict[str, Any]:
    return {
        "format": "fairledger.manifest/1", "name": "compas", "version": "ab" * 32,
        "schema": [{"name": "race", "type": "string", "nullable": True},
                   {"name": "sex", "type": "string", "nullable": True},
                   {"name": "two_year_recid", "type": "int64", "nullable": False},
                   {"name": "decile_score", "type": "int64", "nullable": False}],
        "splits": {"all": {"rows": total, "file": "data/all.parquet", "sha256": "12" * 32,
                           "content_sha256": "34" * 32, "bytes": 123456}},
        "sources": [{"url": "https://example.org/compas-scores-two-years.csv",
                     "sha256": "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"}],
        "spec_digest": "ef" * 32, "lineage": {"previous": None},
        "packages": {"python": "3.11.7", "pyarrow": "26.0.1"},
        "created_at": "2025-01-01T00:00:00+00:00",
    }


QUALITY = {"success": True,
           "summary": {"success": True, "evaluated": 3, "failed": 0, "warned": 1},
           "results": [{"expectation": "expect_column_values_to_not_be_null", "column": "race",
                        "severity": "error", "success": True},
                       {"expectation": "expect_column_values_to_be_between",
                        "column": "decile_score", "severity": "warn", "success": False}]}


@pytest.fixture(scope="session")
def version_inputs() -> dict[str, Any]:
    """Spec, manifest, quality, audit and one result of a COMPAS-shaped version."""
    spec = parse_spec(spec_dict())
    return {"spec": spec, "manifest": make_manifest(sum(RACE.values())), "quality": QUALITY,
            "audit": make_audit(RACE), "results": [make_result("compas_score", RACE)]}


@pytest.fixture(scope="session")
def hostile_inputs() -> dict[str, Any]:
    """The same version with HTML/script payloads in group names, spec text and model ids."""
    race = dict(RACE)
    race[XSS[0]] = race.pop("Other")
    race[XSS[1]] = race.pop("Hispanic")
    spec: DatasetSpec = parse_spec(spec_dict(
        title=f"COMPAS {XSS[0]}", description=f"desc {XSS[1]}",
        datasheet={"motivation": XSS[0], "limitations": XSS[1]},
        sensitive=[{"column": "race", "description": XSS[1]}, {"column": "sex"}]))
    results = [make_result(f"model{XSS[0]}", race, bad_finding=f"note {XSS[1]}"),
               make_result(f"../../{XSS[1]}", race)]
    return {"spec": spec, "manifest": make_manifest(sum(race.values())), "quality": QUALITY,
            "audit": make_audit(race), "results": results}
