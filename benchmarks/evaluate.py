"""Inference throughput of the MLP baseline: streaming from Parquet vs pure forward.

One run, >= 5 million generated rows (6 numeric, 2 dictionary-encoded categorical columns,
a string group, label and id), for torch's default thread count and for one thread:

1. train the MLP baseline (pipelines.baselines) on 50,000 rows;
2. write the rows to Parquet with the ledger's own split writer
   (pipelines.store.split_file_writer, row groups of pipelines.store.ROW_GROUP_ROWS);
3. pipeline: pipelines.evaluate.run_inference -- read the needed columns from Parquet,
   encode, forward, threshold, write predictions.parquet and build the audit frame;
4. pure forward: the same scorer's forward (same TorchScript module, same preprocessing
   inside it, same calls of pipelines.scorers.FORWARD_ROWS rows, same allocator settings
   pipelines.evaluate.inference_runtime) on the same rows, already encoded as tensors in
   memory (encoding not timed), under torch.inference_mode().

Each measurement runs in its own subprocess: its peak RSS and page faults are its own, and
neither side inherits the other's warmed heap or thread pools. The machine may be shared, so
the two sides run interleaved, --rounds times each; the ratio of the best rounds (the least
disturbed ones) and the ratio of the medians are both printed. CPU seconds are printed
beside wall time: with --threads 1 torch computes on one core while the pipeline's reader
and writer threads (and Arrow's decoder) use the other. At the default thread count the
pure forward uses torch's default (one thread per core) and the pipeline its own default,
one torch thread fewer (pipelines.evaluate.torch_threads).
Usage: python benchmarks/evaluate.py [--rows 5000000] [--threads N] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.evaluate import DEFAULT_BATCH_ROWS as BATCH  # noqa: E402
from pipelines.evaluate import inference_runtime  # noqa: E402
from pipelines.scorers import FORWARD_ROWS  # noqa: E402
from pipelines.store import ROW_GROUP_ROWS, split_file_writer  # noqa: E402


def make_table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {f"x{i}": rng.normal(size=n) for i in range(6)}
    colour = rng.choice(np.array(["red", "green", "blue", "grey"]), size=n)
    city = rng.choice(np.array([f"c{i}" for i in range(20)]), size=n)
    logit = cols["x0"] - cols["x1"] + (colour == "red") * 0.7
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    group = rng.choice(np.array(["a", "b"]), size=n)
    # categories are stored dictionary-encoded, as ledger versions store category columns
    return pa.table({**cols, "colour": pa.array(colour).dictionary_encode(),
                     "city": pa.array(city).dictionary_encode(), "group": group, "y": y,
                     "id": np.arange(n, dtype=np.int64)})


def prepare(work: Path, rows: int) -> None:
    from pipelines.baselines import train_baseline
    from pipelines.spec import BaselineModel

    ms = BaselineModel(id="mlp", kind="baseline", algorithm="mlp", epochs=2)
    blob = train_baseline(ms, make_table(50_000, 0), label="y", positive=[1], id_column="id",
                          sensitive=["group"])
    (work / "mlp.pt").write_bytes(blob)
    writer = None
    for start in range(0, rows, ROW_GROUP_ROWS):
        chunk = make_table(min(ROW_GROUP_ROWS, rows - start), 1 + start)
        chunk = chunk.set_column(chunk.schema.get_field_index("id"), "id",
                                 pa.array(np.arange(start, start + chunk.num_rows)))
        if writer is None:
            schema = chunk.schema
            writer = split_file_writer(work / "data.parquet", schema)
        writer.write_table(chunk.cast(schema), row_group_size=ROW_GROUP_ROWS)
    assert writer is not None
    writer.close()


def _usage() -> tuple[float, int]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_minflt


def measure_pipeline(work: Path, threads: int | None) -> dict:
    from pipelines.evaluate import run_inference
    from pipelines.models import load_baseline_file

    scorer = load_baseline_file(work / "mlp.pt", "mlp")
    cpu0, faults0 = _usage()
    start = time.perf_counter()
    inf = run_inference(scorer, [("test", work / "data.parquet")], work / "predictions.parquet",
                        label="y", positive=[1], sensitive=["group"], id_column="id",
                        threshold=0.5, direction=">=", threads=threads, batch_rows=BATCH)
    seconds = time.perf_counter() - start
    cpu1, faults1 = _usage()
    return {"rows": inf.rows, "seconds": seconds, "cpu": cpu1 - cpu0, "faults": faults1 - faults0}


def measure_forward(work: Path, threads: int | None) -> dict:
    import torch

    from pipelines.models import load_baseline_file

    scorer = load_baseline_file(work / "mlp.pt", "mlp")
    table = pq.read_table(work / "data.parquet", columns=scorer.columns)
    encoded = [(scorer.encode(batch), batch.num_rows)
               for batch in table.to_batches(max_chunksize=BATCH)]
    del table
    if threads:
        torch.set_num_threads(threads)
    rows = 0
    with torch.inference_mode(), inference_runtime():
        cpu0, faults0 = _usage()
        start = time.perf_counter()
        for prepared, n in encoded:
            rows += scorer.forward(prepared, n).shape[0]
        seconds = time.perf_counter() - start
        cpu1, faults1 = _usage()
    return {"rows": rows, "seconds": seconds, "cpu": cpu1 - cpu0, "faults": faults1 - faults0}


def child(kind: str, work: Path, threads: int | None) -> None:
    fn = measure_pipeline if kind == "pipeline" else measure_forward
    out = fn(work, threads)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run(kind: str, work: Path, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--work", str(work)]
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(work: Path, threads: int | None, rounds: int) -> None:
    """Run both sides interleaved ``rounds`` times; print best and median, and the ratio."""
    runs: dict[str, list[dict]] = {"pipeline": [], "forward": []}
    for _ in range(rounds):
        for kind in runs:
            runs[kind].append(run(kind, work, threads))
    label = {"pipeline": "pipeline (Parquet -> predictions.parquet)",
             "forward": "pure forward (tensors in memory)"}
    rates, medians = {}, {}
    print(f"-- torch threads: {threads or 'default'}" + ("" if threads else
          " (pure forward: torch's default; pipeline: torch's default minus one, the other "
          "core reads and writes)"))
    for kind, ms in runs.items():
        best = min(ms, key=lambda m: m["seconds"])
        rates[kind] = best["rows"] / best["seconds"]
        medians[kind] = statistics.median(m["rows"] / m["seconds"] for m in ms)
        cpu = statistics.median(m["cpu"] for m in ms)
        print(f"   {label[kind]:<42} best {rates[kind]:>12,.0f} rows/s  median "
              f"{medians[kind]:>12,.0f}  {best['seconds']:5.2f} s  cpu (median) {cpu:5.2f} s"
              f"  faults {best['faults']:>7,}  peak RSS {best['peak_rss_mb']:5.0f} MiB")
    best_ratio = rates["pipeline"] / rates["forward"]
    print(f"   ratio pipeline / pure forward: best rounds {best_ratio:.1%}, medians "
          f"{medians['pipeline'] / medians['forward']:.1%}  (goal >= 80%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--threads", type=int, default=None,
                        help="one torch thread count (default: compare torch's default and 1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=["pipeline", "forward"])
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.work, args.threads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work, args.rows)
        size = (work / "data.parquet").stat().st_size / 2**20
        print(f"rows {args.rows:,}  parquet {size:.0f} MiB  batch {BATCH:,}  forward calls of "
              f"{FORWARD_ROWS:,} rows  rounds {args.rounds}"
              f"  load average {os.getloadavg()[0]:.1f} (cores {os.cpu_count()})")
        for threads in ([args.threads] if args.threads else [None, 1]):
            compare(work, threads, args.rounds)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
