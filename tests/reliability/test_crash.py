"""SIGKILL a build, an evaluation and an export at named instants and at timed instants.

After every kill: ``verify`` is clean; every file that existed before is
intact (sha256), except what the interrupted work replaces whole (the
result it re-evaluates, the bundle it re-exports, refs.json gaining a
version); the interrupted work is either complete or invisible; and the next
run succeeds and leaves no temporary entry behind.
"""

from __future__ import annotations

import pytest
from _scenario import leftovers, snapshot

import pipelines.bundle_verify  # noqa: F401  # registers the bundle checks
import pipelines.results  # noqa: F401  # registers the result checks
from pipelines.store import read_refs, verify_ledger

BUILD_FAULTS = [
    "sources.cache_before_replace", "sources.cache_after_replace", "build.after_resolve",
    "staging.after_batch", "build.after_ingest", "build.after_gate", "build.after_audit",
    "build.before_publish", "publish.locked", "publish.before_rename", "publish.after_rename",
    "publish.before_refs", "staging.after_add_json",
]
EVALUATE_FAULTS = [
    "results.after_staging_mkdir", "evaluate.after_batch", "evaluate.after_predictions",
    "atomic.result.json.before_replace", "results.before_commit", "results.after_exchange",
]
EXPORT_FAULTS = ["export.after_entry", "export.before_replace", "export.after_replace"]
TIMED = [("build", 0.35), ("build", 0.6), ("evaluate", 0.2), ("export", 0.5), ("export", 1.0)]

CASES = ([("build", f, None) for f in BUILD_FAULTS]
         + [("evaluate", f, None) for f in EVALUATE_FAULTS]
         + [("export", f, None) for f in EXPORT_FAULTS]
         + [(m, None, d) for m, d in TIMED])


def _replaced_whole(mode: str, rel: str) -> bool:
    """Files the interrupted work may legitimately replace (whole, never partly)."""
    if mode == "build":
        return rel.endswith("/refs.json")
    if mode == "evaluate":
        return rel.startswith("results/")
    return rel.startswith("reports/")


@pytest.mark.parametrize(("mode", "fault", "delay"), CASES,
                         ids=[f"{m}-{f or f'after-{d}s'}" for m, f, d in CASES])
def test_kill_then_recover(bench, mode, fault, delay):
    home = bench.fresh_home(f"{mode}-{fault or delay}")
    before = snapshot(home)
    prior = read_refs(home, "synth")["latest"]
    spec = bench.new_spec if mode == "build" else bench.spec
    out = bench.zygote.run(mode, home, spec, fault=fault, delay=delay, reuse=False)
    if fault is not None:  # the named instant must have been reached
        assert (out["rc"], out["killed"]) == (-9, "fault"), out["stderr"]
    else:
        assert out["rc"] in (0, -9), out["stderr"]

    assert verify_ledger(home) == []
    after = snapshot(home)
    for rel, sha in before.items():
        if not _replaced_whole(mode, rel):
            assert after.get(rel) == sha, rel
    refs = read_refs(home, "synth")
    assert prior in refs["history"]
    assert (home / "results/synth" / prior / "score/result.json").is_file()
    assert (home / "reports/synth" / prior / "policy-bundle.zip").is_file()

    again = bench.zygote.run(mode, home, spec)
    assert again["rc"] == 0, again["stderr"]
    assert verify_ledger(home) == []
    assert leftovers(home) == []
    if mode == "build":
        assert len(read_refs(home, "synth")["history"]) == 2
        assert not list((home / "staging/synth").iterdir())

