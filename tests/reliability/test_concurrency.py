"""Concurrent builds, evaluations and exports of the same and of different specs.

Seven processes start at once on one ledger: two builds of one new content,
one of another new content and one of the unchanged content of ``synth``, a
build of a second dataset, two evaluations and an export. All exit 0; each
distinct content is one version; refs.json names every version (no lost
update); verify is clean (no partial file) and no temporary entry is left.
"""

from __future__ import annotations

from _scenario import leftovers, synthetic_csv, write_dataset
from conftest import zip_source_spec  # the fixture module of this folder

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
