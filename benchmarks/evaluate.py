"""Inference throughput of the MLP baseline: streaming from Parquet vs pure forward.

One run, >= 5 million generated rows (6 numeric, 2 categorical columns):

1. train the MLP baseline (pipelines.baselines) on 50,000 rows;
   (category columns are dictionary-encoded, as in ledger versions)
2. write the rows to Parquet (zstd, row groups of 1 Mi rows);
3. pipeline: pipelines.evaluate.run_inference, reading batches from Parquet, encoding,
   forward, thresholding and writing predictions.parquet, with the audit frame;
4. reference: the same TorchScript module on the same rows already encoded as tensors in
   memory, in batches of the same size, under torch.inference_mode().

Each measurement runs in its own subprocess so its peak RSS is its own.
Usage: python benchmarks/evaluate.py [--rows 5000000] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import resource
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
BATCH = 1 << 16


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
    for start in range(0, rows, 1 << 20):
        chunk = make_table(min(1 << 20, rows - start), 1 + start)
        chunk = chunk.set_column(chunk.schema.get_field_index("id"), "id",
                                 pa.array(np.arange(start, start + chunk.num_rows)))
        if writer is None:
            writer = pq.ParquetWriter(work / "data.parquet", chunk.schema, compression="zstd")
        writer.write_table(chunk, row_group_size=1 << 20)
    assert writer is not None
    writer.close()


def measure_pipeline(work: Path, threads: int | None) -> dict:
    from pipelines.evaluate import run_inference
    from pipelines.models import load_baseline_file

    scorer = load_baseline_file(work / "mlp.pt", "mlp")
    start = time.perf_counter()
    inf = run_inference(scorer, [("test", work / "data.parquet")], work / "predictions.parquet",
                        label="y", positive=[1], sensitive=["group"], id_column="id",
                        threshold=0.5, direction=">=", threads=threads, batch_rows=BATCH)
    seconds = time.perf_counter() - start
    return {"rows": inf.rows, "seconds": seconds}


def measure_forward(work: Path, threads: int | None) -> dict:
    import torch

    from pipelines.models import load_baseline_file

    scorer = load_baseline_file(work / "mlp.pt", "mlp")
    table = pq.read_table(work / "data.parquet", columns=scorer.columns)
    tensors = []
    for batch in table.to_batches(max_chunksize=BATCH):
        num, cat = scorer.encode(batch)
        tensors.append((torch.from_numpy(num), torch.from_numpy(cat)))
    if threads:
        torch.set_num_threads(threads)
    rows = 0
    with torch.inference_mode():
        start = time.perf_counter()
        for num, cat in tensors:
            rows += scorer.module(num, cat).shape[0]
        seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--threads", type=int, default=None)
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
        print(f"rows {args.rows:,}  parquet {size:.0f} MiB  batch {BATCH:,}  "
              f"threads {args.threads or 'torch default'}")
        pipe, fwd = run("pipeline", work, args.threads), run("forward", work, args.threads)
        for name, m in (("pipeline (Parquet -> predictions.parquet)", pipe),
                        ("pure forward (tensors in memory)", fwd)):
            print(f"{name:<44} {m['rows'] / m['seconds']:>14,.0f} rows/s  "
                  f"{m['seconds']:7.2f} s  peak RSS {m['peak_rss_mb']:7.0f} MiB")
        ratio = (pipe["rows"] / pipe["seconds"]) / (fwd["rows"] / fwd["seconds"])
        print(f"ratio pipeline / pure forward: {ratio:.1%}  (goal >= 80%)")


if __name__ == "__main__":
    main()
