"""SIGKILL a publishing subprocess at every named instant (and at timed instants).

After each kill: verify is clean, the prior version is intact, refs.json is
readable and names an existing version, the new version is absent or whole,
and the next build removes the leftovers and publishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.ledger_io import is_temporary
from pipelines.store import read_refs, sha256_file, split_path, verify_ledger

WORKER = Path(__file__).with_name("ledger_worker.py")
ROWS = 4000

FAULTS = [
    "staging.after_mkdir",
    "staging.after_batch",
    "staging.after_add_json",
    "atomic.quality.json.before_fsync",
    "atomic.quality.json.before_replace",
    "atomic.quality.json.after_replace",
    "staging.after_row_group",
    "staging.after_parquet_close",
    "staging.after_close_writers",
    "publish.after_hash",
    "publish.before_lock",
    "publish.locked",
    "atomic.manifest.json.before_fsync",
    "atomic.manifest.json.before_replace",
    "atomic.manifest.json.after_replace",
    "publish.after_manifest",
    "publish.after_readonly",
    "publish.after_fsync_dirs",
    "publish.before_rename",
    "publish.after_rename",
    "publish.after_rename_fsync",
    "publish.before_refs",
    "atomic.refs.json.before_fsync",
    "atomic.refs.json.before_replace",
    "atomic.refs.json.after_replace",
    "publish.after_refs",
]


def worker(home: Path, seed: int, *extra: str, fault: str | None = None,
           ) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("FAIRLEDGER_FAULT", None)
    if fault:
        env["FAIRLEDGER_FAULT"] = fault
    return subprocess.Popen([sys.executable, str(WORKER), str(home), "ds", str(seed), str(ROWS),
                             *extra], stdout=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen[str]) -> dict:
    out, _ = proc.communicate()
    assert proc.returncode == 0, out
    return json.loads(out.splitlines()[-1])


def digest_tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def prior(tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    """A ledger with one published version (content seed 0)."""
    v0 = finish(worker(tmp_path, 0))["version"]
    return tmp_path, v0, digest_tree(tmp_path / "datasets" / "ds" / v0)


def assert_consistent(home: Path, v0: str, tree: dict[str, str]) -> set[str]:
    assert verify_ledger(home) == []
    folder = home / "datasets" / "ds"
    assert digest_tree(folder / v0) == tree
    split_path(home, "ds", v0, "train")
    refs = read_refs(home, "ds")  # parseable
    assert refs["latest"] in refs["history"] and (folder / refs["latest"]).is_dir()
    versions = {p.name for p in folder.iterdir() if not is_temporary(p.name)} - {"refs.json"}
    assert v0 in versions and len(versions) <= 2
    return versions


def assert_recovers(home: Path, v0: str, tree: dict[str, str]) -> None:
    res = finish(worker(home, 1))
    assert res["status"] in ("published", "unchanged")
    assert read_refs(home, "ds")["latest"] == res["version"]
    assert read_refs(home, "ds")["history"] == [v0, res["version"]]
    for sub in ("datasets/ds", "staging/ds"):
        assert [p.name for p in (home / sub).iterdir() if is_temporary(p.name)] == []
    assert_consistent(home, v0, tree)


@pytest.mark.parametrize("fault", FAULTS)
def test_kill_at_named_point(prior, fault):
    home, v0, tree = prior
    proc = worker(home, 1, fault=fault)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"fault point {fault} was never reached"
    versions = assert_consistent(home, v0, tree)
    if fault in FAULTS[FAULTS.index("publish.after_rename"):]:
        assert len(versions) == 2  # the rename happened: the new version is whole
    else:
        assert versions == {v0}
    assert_recovers(home, v0, tree)


@pytest.mark.parametrize("fault", ["publish.unchanged_before_discard", "stale.after_claim"])
def test_kill_while_unchanged_or_cleaning(prior, fault):
    home, v0, tree = prior
    first = worker(home, 1, fault="publish.before_rename")
    first.communicate()  # leaves a stale staging folder for the cleaner
    seed = 0 if fault.startswith("publish") else 1
    proc = worker(home, seed, fault=fault)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert assert_consistent(home, v0, tree) == {v0}
    assert_recovers(home, v0, tree)


def test_kill_during_quarantine(prior):
    home, v0, tree = prior
    proc = worker(home, 1, "--quarantine", fault="quarantine.before_rename")
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert assert_consistent(home, v0, tree) == {v0}
    assert list((home / "quarantine" / "ds").iterdir()) == []  # no half attempt
    assert_recovers(home, v0, tree)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0, 1.2])
def test_kill_at_timed_instant(prior, fraction):
    """Kill after a fraction of a measured undisturbed run (after imports)."""
    home, v0, tree = prior
    probe = worker(home.parent / f"probe-{fraction}", 1)
    assert probe.stdout is not None
    probe.stdout.readline()
    start = time.perf_counter()
    finish(probe)
    duration = time.perf_counter() - start
    proc = worker(home, 1)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(duration * fraction)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert_consistent(home, v0, tree)
    assert_recovers(home, v0, tree)
