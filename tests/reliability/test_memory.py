"""Resource bounds (issue #9): a build's memory does not grow with the size of its source.

Each build runs in its own subprocess (``oom_worker.py``: the real ``fairledger
build`` command line, Prefect tasks replaced by their plain functions) and
reports its peak RSS (``ru_maxrss``). Sources are generated in chunks
straight to disk, shaped like ``_scenario.synthetic_csv`` (unique ids, three
groups, a binary label), so the test process itself stays small.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from _scenario import REPO, cli_env, leftovers, spec_doc

from pipelines import quality_spill
from pipelines.quality import run_gate
from pipelines.quality_run import GXRunner
from pipelines.quality_spill import HashStore, partition_bits
from pipelines.quality_suite import PlannedExpectation
from pipelines.spec import parse_spec
from pipelines.store import read_refs, verify_ledger

MB = 1 << 20
WORKER = Path(__file__).with_name("oom_worker.py")


def _chunk(start: int, n: int, rng: np.random.Generator) -> pa.Table:
    x1, x2 = np.round(rng.normal(size=n), 6), np.round(rng.normal(size=n), 6)
    group = np.array(["a", "b", "c"])[rng.choice(3, size=n, p=[0.5, 0.3, 0.2])]
    prob = 1 / (1 + np.exp(-(1.2 * x1 - x2 + (group == "b") * 0.4)))
    return pa.table({"id": np.arange(start, start + n), "x1": x1, "x2": x2, "group": group,
                     "score": np.rint(prob * 10).astype(np.int64),
                     "y": (rng.random(n) < prob).astype(np.int64)})


def _write_source(root: Path, name: str, target_bytes: int, seed: int) -> tuple[Path, int]:
    """Write a CSV of at least ``target_bytes`` into the mirror and its spec; return both."""
    folder = root / "mirror" / name
    folder.mkdir(parents=True)
    digest, rows, written = hashlib.sha256(), 0, 0
    rng = np.random.default_rng(seed)
    with open(folder / "data.csv", "wb") as fh:
        while written < target_bytes:
            buf = io.BytesIO()
            options = pacsv.WriteOptions(include_header=rows == 0, quoting_style="none")
            pacsv.write_csv(_chunk(rows, 250_000, rng), buf, options)
            fh.write(buf.getvalue())
            digest.update(buf.getvalue())
            written += len(buf.getvalue())
            rows += 250_000
    doc = spec_doc(name, b"")
    doc["sources"][0]["sha256"] = digest.hexdigest()
    spec = root / "specs" / f"{name}.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return spec, rows


def _build(root: Path, name: str, spec: Path, headroom_mb: int) -> tuple[int, int, str]:
    """Run ``fairledger build`` in ``oom_worker.py``; return (exit code, peak RSS bytes, stderr)."""
    home = root / "homes" / name
    home.mkdir(parents=True)
    env = {**cli_env(root / "mirror"), "MALLOC_ARENA_MAX": "2"}
    out = subprocess.run([sys.executable, str(WORKER), str(home), str(spec), str(headroom_mb)],
                         env=env, cwd=REPO, capture_output=True, text=True, check=False)
    peak = [int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("peak ")]
    return out.returncode, (peak[0] * 1024 if peak else -1), out.stderr


def _assert_published(root: Path, name: str, rows: int) -> None:
    home = root / "homes" / name
    vid = read_refs(home, name)["latest"]
    manifest = json.loads((home / "datasets" / name / vid / "manifest.json").read_text())
    assert sum(s["rows"] for s in manifest["splits"].values()) == rows
    assert verify_ledger(home) == [] and leftovers(home) == []
    staging = home / "staging" / name
    assert not staging.exists() or list(staging.iterdir()) == []


def test_build_peak_memory_does_not_grow_with_the_source(tmp_path: Path) -> None:
    small, small_rows = _write_source(tmp_path, "small", 150 * MB, seed=1)
    large, large_rows = _write_source(tmp_path, "large", 600 * MB, seed=2)
    sizes = [(tmp_path / "mirror" / n / "data.csv").stat().st_size for n in ("small", "large")]
    peaks = []
    for name, spec, rows in (("small", small, small_rows), ("large", large, large_rows)):
        code, peak, stderr = _build(tmp_path, name, spec, 0)
        assert code == 0, stderr[-2000:]
        _assert_published(tmp_path, name, rows)
        (tmp_path / "mirror" / name / "data.csv").unlink()
        peaks.append(peak)
    extra = sizes[1] - sizes[0]
    growth = peaks[1] - peaks[0]
    assert growth < 0.15 * extra, (
        f"peak RSS grew {growth / MB:.0f} MB ({peaks[0] / MB:.0f} -> {peaks[1] / MB:.0f}) "
        f"for {extra / MB:.0f} MB more CSV")


def test_source_larger_than_the_memory_headroom_builds(tmp_path: Path) -> None:
    headroom_mb = 250
    spec, rows = _write_source(tmp_path, "big", 320 * MB, seed=3)
    assert (tmp_path / "mirror" / "big" / "data.csv").stat().st_size > headroom_mb * MB
    code, _, stderr = _build(tmp_path, "big", spec, headroom_mb)
    assert code == 0, stderr[-2000:]
    _assert_published(tmp_path, "big", rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spilled_hashes_find_the_same_candidates(tmp_path: Path, seed: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, np.iinfo(np.uint64).max, size=5000, dtype=np.uint64, endpoint=True)
    hashes[rng.integers(0, 5000, size=300)] = hashes[rng.integers(0, 5000, size=300)]
    rows = np.arange(5000, dtype=np.int64) * 3
    memory = HashStore(5000)
    monkeypatch.setattr(quality_spill, "SPILL_ROWS", 0)
    monkeypatch.setattr(quality_spill, "PARTITION_ROWS", 100)
    spilled = HashStore(5000, tmp_path)
    assert memory.bits == 0 and spilled.bits == partition_bits(5000) > 1
    for lo in range(0, 5000, 700):
        memory.add(hashes[lo:lo + 700], rows[lo:lo + 700])
        spilled.add(hashes[lo:lo + 700], rows[lo:lo + 700])
    _, counts = np.unique(hashes, return_counts=True)
    expected = rows[np.isin(hashes, np.unique(hashes)[counts > 1])]
    assert np.array_equal(spilled.repeated_rows(), expected)
    assert np.array_equal(memory.repeated_rows(), expected)
    assert list(tmp_path.iterdir()) == []


def _gate_inputs(tmp_path: Path) -> tuple[Any, dict[str, Path]]:
    rng = np.random.default_rng(4)
    n = 20_000
    ids = np.arange(n, dtype=np.int64)
    ids[rng.integers(0, n, 40)] = ids[rng.integers(0, n, 40)]  # duplicate ids
    table = _chunk(0, n, rng).set_column(0, "id", pa.array(ids))
    rows = table.take(pa.array(rng.integers(0, n, 25)))  # exact duplicate rows
    table = pa.concat_tables([table, rows])
    x1 = table["x1"].to_numpy().copy()
    mask = np.zeros(len(x1), dtype=bool)
    mask[rng.integers(0, len(x1), 50)] = True
    table = table.set_column(1, "x1", pa.array(x1, mask=mask))  # nulls, ignored by GX
    table = table.set_column(3, "group", table["group"].dictionary_encode())
    paths = {}
    for split, part in (("train", table.slice(0, 14_000)), ("test", table.slice(14_000))):
        paths[split] = tmp_path / "data" / f"{split}.parquet"
        paths[split].parent.mkdir(exist_ok=True)
        pq.write_table(part, paths[split], row_group_size=3000)
    doc = spec_doc("dups", b"")
    doc["columns"]["group"] = "category"
    return parse_spec(doc, path="dups.yaml"), paths


def test_gate_counts_are_the_same_with_spilled_hashes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spec, paths = _gate_inputs(tmp_path)
    kept = run_gate(spec, paths, chunk_rows=4096).to_dict()
    monkeypatch.setattr(quality_spill, "SPILL_ROWS", 0)
    monkeypatch.setattr(quality_spill, "PARTITION_ROWS", 1000)
    spilled = run_gate(spec, paths, chunk_rows=4096).to_dict()
    unique = [r for r in kept["results"] if "unique" in r["expectation"]]
    assert [r["unexpected_count"] for r in unique] != [0, 0]  # duplicates were found
    assert spilled["results"] == kept["results"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["test.parquet",
                                                                     "train.parquet"]


def test_gx_runner_keeps_no_validated_frame() -> None:
    import pandas as pd

    runner = GXRunner("frames")
    planned = PlannedExpectation("expect_column_values_to_not_be_null", {"column": "a"})
    definition = runner.definition([planned])
    for _ in range(3):
        runner.run(definition, pd.DataFrame({"a": np.arange(1000)}))
    engine = runner.datasource.execution_engine
    assert engine is not None and engine.batch_manager.batch_data_cache == {}
