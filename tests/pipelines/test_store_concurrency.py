"""Concurrent publishers: one version per distinct content, no lost refs update."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.store import list_versions, read_manifest, read_refs, verify_ledger

WORKER = Path(__file__).with_name("ledger_worker.py")


def race(home: Path, seeds: list[int], rows: int = 20000) -> list[dict]:
    """Start one worker per seed, release them together through a gate file."""
    gate = home.parent / f"gate-{home.name}"
    env = {k: v for k, v in os.environ.items() if k != "FAIRLEDGER_FAULT"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(home), "ds", str(s), str(rows),
                               "--gate", str(gate)], stdout=subprocess.PIPE, text=True, env=env)
             for s in seeds]
    for proc in procs:  # every worker has imported everything and waits at the gate
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    gate.touch()
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        assert proc.returncode == 0, out
        results.append(json.loads(out.splitlines()[-1]))
    return results


@pytest.mark.parametrize("n", [4, 6])
def test_same_content_gives_one_version(tmp_path, n):
    results = race(tmp_path / "ledger", [1] * n)
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["published"] + ["unchanged"] * (n - 1)
    assert len({r["version"] for r in results}) == 1
    assert [v["version"] for v in list_versions(tmp_path / "ledger", "ds")] == [
        results[0]["version"]]
    assert verify_ledger(tmp_path / "ledger") == []


def test_distinct_contents_all_recorded(tmp_path):
    home = tmp_path / "ledger"
    results = race(home, [1, 2, 3, 4])
    assert {r["status"] for r in results} == {"published"}
    refs = read_refs(home, "ds")
    assert sorted(refs["history"]) == sorted(r["version"] for r in results)
    assert refs["latest"] == refs["history"][-1]
    # lineage is one chain in publish order: nobody overwrote another's refs update
    chain = [read_manifest(home, "ds", v)["lineage"]["previous"] for v in refs["history"]]
    assert chain == [None, *refs["history"][:-1]]
    assert verify_ledger(home) == []


def test_mixed_new_and_known_contents(tmp_path):
    home = tmp_path / "ledger"
    known = {r["version"]: r["status"] for r in race(home, [1, 2])}
    results = race(home, [1, 2, 5, 5, 6])
    new = {r["version"] for r in results if r["status"] == "published"}
    assert len(new) == 2 and not new & set(known)
    assert sorted(r["status"] for r in results) == ["published"] * 2 + ["unchanged"] * 3
    history = read_refs(home, "ds")["history"]
    assert set(history[:2]) == set(known) and set(history[2:]) == new
    for i, vid in enumerate(history[1:], start=1):  # each previous was published before it
        assert read_manifest(home, "ds", vid)["lineage"]["previous"] in history[:i]
    assert read_refs(home, "ds")["latest"] in {r["version"] for r in results}
    assert verify_ledger(home) == []
