"""Version drift between two audits: rows, schema, shares, base rates, TVD, findings."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audits.dataset_audit import audit_dataset
from audits.drift import diff_audits
from pipelines.spec import Bound, parse_spec

SPEC = parse_spec({
    "name": "drift", "title": "t", "license": "x", "citation": "x",
    "sources": [{"url": "file:///x", "sha256": "0" * 64}],
    "label": {"column": "y", "positive": [1]},
    "sensitive": [{"column": "g", "categories": ["a", "b", "c"]}]})


def _audit(tmp: Path, name: str, groups: dict[str, tuple[int, int]], extra: bool = False
           ) -> dict:
    g, y = [], []
    for group, (n, pos) in groups.items():
        g += [group] * n
        y += [1] * pos + [0] * (n - pos)
    cols = {"g": g, "y": y}
    if extra:
        cols["new"] = [1.0] * len(g)
    pq.write_table(pa.table(cols), tmp / f"{name}.parquet")
    return audit_dataset(SPEC, {"all": tmp / f"{name}.parquet"}, spec_dir=tmp)


def test_diff_shares_base_rates_schema(tmp_path: Path) -> None:
    a = _audit(tmp_path, "a", {"a": (60, 30), "b": (30, 6), "c": (10, 1)})
    b = _audit(tmp_path, "b", {"a": (40, 20), "b": (40, 20), "c": (20, 2)}, extra=True)
    diff = diff_audits(a, b, manifest_a={"version": "v1"}, manifest_b={"version": "v2"})
    assert diff["rows"]["total"] == {"a": 100, "b": 100, "change": 0}
    assert diff["schema"] == {"added": ["new"], "removed": [], "retyped": []}
    rows = {r["group"]: r for r in diff["features"]["g"]["groups"]}
    assert rows["a"]["share_change"] == pytest.approx(-0.2)
    assert rows["b"]["base_rate_change"] == pytest.approx(0.5 - 0.2)
    assert diff["features"]["g"]["tvd"] == pytest.approx(0.5 * (0.2 + 0.1 + 0.1))
    sev = {(f["code"], f["group"]): f["severity"] for f in diff["findings"]}
    assert sev[("representation_shift", "a")] == "warn"
    assert sev[("base_rate_shift", "b")] == "warn"


def test_no_change_passes_and_bounds_apply(tmp_path: Path) -> None:
    a = _audit(tmp_path, "a", {"a": (50, 5), "b": (50, 5)})
    same = diff_audits(a, a, manifest_a=None, manifest_b=None)
    assert same["features"]["g"]["tvd"] == 0.0
    assert [f["severity"] for f in same["findings"]] == ["pass"]
    b = _audit(tmp_path, "b", {"a": (55, 5), "b": (45, 5)})
    loose = diff_audits(a, b, manifest_a=None, manifest_b=None,
                        thresholds={"representation_shift_tvd": Bound(max=0.04)})
    assert loose["features"]["g"]["tvd"] == pytest.approx(0.05)
    assert loose["findings"][0]["severity"] == "fail"
    assert loose["findings"][0]["threshold"] == {"max": 0.04}
