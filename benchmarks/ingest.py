"""Ingest benchmark: fairledger's streaming build path vs plain pyarrow, side by side.

Generates a CSV (default 5,000,000 rows: ints, floats, strings, category-like
columns, a label and two sensitive columns) and a matching spec in a
temporary folder, then measures, each in its own subprocess (honest peak RSS
from ``/proc/self/status`` VmHWM):

(a) plain pyarrow: ``pyarrow.csv.read_csv`` + ``pyarrow.parquet.write_table``;
(b) fairledger: ``resolve_source`` (sha256 of the file) + ``iter_batches``
    (typed, derived column) + ``StreamSplitter`` (stratified split) +
    ``Staging.write_batch`` (Parquet with content hashing) + ``publish``
    (manifest, file sha256, atomic rename).

Usage::

    .venv/bin/python benchmarks/ingest.py               # 5M rows
    .venv/bin/python benchmarks/ingest.py --rows 40000000  # a multi-GB CSV
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SPEC = """\
name: bench
title: Generated benchmark table
license: CC0
citation: generated
sources:
  - url: {url}
    sha256: {sha}
columns:
  id: int64
  age: int64
  income: float64
  score: float64
  city: category
  race: category
  sex: category
  label: int64
derived:
  - name: age_band
    from: age
    edges: [0, 25, 45, 65, .inf]
    labels: ["<25", "25-44", "45-64", "65+"]
label: {{column: label, positive: [1]}}
sensitive: [{{column: race}}, {{column: sex}}]
id_column: id
split: {{kind: random, test_fraction: 0.3, seed: 0, stratify: [label, race]}}
"""


def generate(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    """Write ``rows`` rows of synthetic data to ``path`` in chunks (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    races = np.array(["White", "Black", "Asian", "Hispanic", "Other"])
    cities = np.array([f"city_{i:03d}" for i in range(200)])
    words = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"])
    with open(path, "wb") as fh:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            table = pa.table({
                "id": np.arange(start, start + n),
                "age": rng.integers(17, 90, n),
                "income": np.round(rng.lognormal(10, 1, n), 2),
                "score": rng.random(n),
                "city": cities[rng.integers(0, len(cities), n)],
                "race": races[rng.choice(5, n, p=[0.6, 0.15, 0.1, 0.1, 0.05])],
                "sex": np.where(rng.random(n) < 0.5, "Female", "Male"),
                "note": words[rng.integers(0, len(words), n)],
                "label": (rng.random(n) < 0.3).astype(np.int64),
            })
            opts = pacsv.WriteOptions(include_header=start == 0)
            pacsv.write_csv(table, fh, write_options=opts)


def run_plain(csv_path: str, out: str) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(csv_path)
    pq.write_table(table, out)
    return {"rows": table.num_rows}


def run_fairledger(csv_path: str, out: str) -> dict:
    sys.path.insert(0, str(REPO))
    from pipelines.building import split_definition, stream_into
    from pipelines.sources import resolve_all
    from pipelines.spec import load_spec, spec_digest
    from pipelines.store import Staging

    spec = load_spec(Path(csv_path).with_suffix(".yaml"))
    resolved = resolve_all(spec, home=Path(out), mirrors=[])
    with Staging(Path(out), spec.name) as staging:
        rows = stream_into(spec, resolved, staging)
        staging.publish(sources=[r.fingerprint for r in resolved], spec_digest=spec_digest(spec),
                        split_definition=split_definition(spec))
    return {"rows": sum(rows.values()), "splits": rows}


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(which: str, csv_path: str, out: str) -> None:
    start = time.perf_counter()
    info = (run_plain if which == "plain" else run_fairledger)(csv_path, out)
    info["seconds"] = time.perf_counter() - start
    info["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(info))


def measure(which: str, csv_path: Path, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", which, str(csv_path), str(out)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{which} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--child", nargs=3, metavar=("WHICH", "CSV", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-plain", action="store_true",
                        help="measure only fairledger (for CSVs larger than memory)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import hashlib

    with tempfile.TemporaryDirectory(prefix="fl-bench-") as tmp:
        csv_path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        generate(csv_path, args.rows)
        digest = hashlib.sha256()
        with open(csv_path, "rb") as fh:
            for chunk in iter(lambda: fh.read(4 << 20), b""):
                digest.update(chunk)
        csv_path.with_suffix(".yaml").write_text(
            SPEC.format(url=csv_path, sha=digest.hexdigest()), encoding="utf-8")
        size = csv_path.stat().st_size
        print(f"generated {args.rows:,} rows, {size / 1e9:.2f} GB CSV in "
              f"{time.perf_counter() - t0:.1f} s ({os.cpu_count()} CPUs)")
        plain = None if args.skip_plain else measure("plain", csv_path, Path(tmp) / "plain.parquet")
        fair = measure("fairledger", csv_path, Path(tmp) / "ledger")
        print(f"{'path':<44}{'time s':>9}{'peak RSS MB':>13}{'rows':>12}")
        if plain:
            print(f"{'pyarrow read_csv + write_table':<44}{plain['seconds']:>9.2f}"
                  f"{plain['peak_rss_mb']:>13.0f}{plain['rows']:>12,}")
        print(f"{'fairledger resolve+ingest+split+publish':<44}{fair['seconds']:>9.2f}"
              f"{fair['peak_rss_mb']:>13.0f}{fair['rows']:>12,}")
        if plain:
            print(f"ratio fairledger / pyarrow: time {fair['seconds'] / plain['seconds']:.2f}x, "
                  f"peak memory {fair['peak_rss_mb'] / plain['peak_rss_mb']:.2f}x")
        print(f"splits: {fair['splits']}")


if __name__ == "__main__":
    main()
