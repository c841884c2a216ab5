"""Concurrent builds, evaluations and exports of the same and of different specs.

Seven processes start at once on one ledger: two builds of one new content,
one of another new content and one of the unchanged content of ``synth``, a
build of a second dataset, two evaluations and an export. All exit 0; each
distinct content is one version; refs.json names every version (no lost
update); verify is clean (no partial file) and no temporary entry is left.

A build whose dataset lock another process holds waits ``--lock-timeout``
seconds, then exits 1 with one line and changes nothing; once the lock is
free, the same build publishes. Evaluations and exports take no lock.
"""

from __future__ import annotations

import subprocess
import sys

from _scenario import (
    REPO,
    cli,
    leftovers,
    snapshot,
    synthetic_csv,
    write_dataset,
    zip_source_spec,
)

from pipelines.ledger_read import version_ids
from pipelines.store import read_refs, verify_ledger


def test_many_processes_at_once(bench):
    home = bench.fresh_home("concurrency")
    v1 = read_refs(home, "synth")["latest"]
    third = zip_source_spec(bench.root / "third", "synth", synthetic_csv(1500, 2))
    other = write_dataset(bench.root, "other", synthetic_csv(800, 3))
    jobs = [("build", home, bench.new_spec), ("build", home, bench.new_spec),
            ("build", home, third), ("build", home, bench.spec), ("build", home, other),
            ("evaluate", home, bench.spec), ("evaluate", home, bench.spec),
            ("export", home, bench.spec)]
    outcomes = bench.zygote.parallel(jobs)
    for (mode, _, spec), out in zip(jobs, outcomes, strict=True):
        assert out["rc"] == 0, (mode, spec.name, out["stderr"])

    ids = version_ids(home, "synth")
    refs = read_refs(home, "synth")
    assert len(ids) == 3 and v1 in ids
    assert sorted(refs["history"]) == sorted(ids) and refs["latest"] in ids
    assert len(version_ids(home, "other")) == 1
    assert read_refs(home, "other")["history"] == version_ids(home, "other")
    assert verify_ledger(home) == []
    assert leftovers(home) == []
    for vid in {refs["latest"], v1}:
        assert not (home / "results/synth" / vid).exists() or \
            (home / "results/synth" / vid / "score/result.json").is_file()


_HOLDER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from pipelines.ledger_io import dataset_lock
with dataset_lock(Path(sys.argv[1]), sys.argv[2], 0):
    print("held", flush=True)
    sys.stdin.read()  # hold the lock until the test closes our stdin
"""


def _datasets_tree(home):
    return {k: v for k, v in snapshot(home).items() if k.startswith("datasets/")}


def test_build_times_out_on_a_lock_held_by_another_process(bench):
    """A build that cannot get the dataset's lock fails cleanly, then succeeds once it is free."""
    home = bench.fresh_home("lock-timeout")
    v1 = read_refs(home, "synth")["latest"]
    refs = (home / "datasets/synth/refs.json").read_bytes()
    tree = _datasets_tree(home)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(home), "synth", str(REPO)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        args = ["build", str(bench.new_spec), "--home", str(home), "--lock-timeout", "1"]
        done = cli(args, bench.env)  # new content: the build-key cache cannot skip the lock
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [
            f"error: {home / 'locks' / 'synth.lock'}: dataset 'synth' is locked by another "
            "build (waited 1 s); fix: wait for the other build to finish, or raise the lock "
            "timeout"]
        assert (home / "datasets/synth/refs.json").read_bytes() == refs
        assert _datasets_tree(home) == tree
        assert verify_ledger(home) == [] and leftovers(home) == []
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    again = cli(args, bench.env)
    assert again.returncode == 0, again.stderr
    latest = read_refs(home, "synth")["latest"]
    assert latest != v1 and sorted(version_ids(home, "synth")) == sorted([v1, latest])
    assert verify_ledger(home) == [] and leftovers(home) == []
