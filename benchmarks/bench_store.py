"""Ledger publish vs plain pyarrow, side by side, each in its own process (honest peak RSS).

Usage: python benchmarks/bench_store.py [ROWS]   (default 5,000,000)

Measurements (same CSV, generated into a temporary folder):
  reference      pyarrow.csv.read_csv + pq.write_table (default compression)
  reference-zstd the same with compression="zstd" (what the ledger writes)
  hash-only      streaming read + the logical content hash alone
  split-only     streaming read + StreamSplitter (3 stratify columns) alone
  ledger         streaming read + StreamSplitter + Staging.write_batch + publish
  ledger-again   the same build again (status "unchanged")
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_csv(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(0)
    tbl = pa.table({
        "id": np.arange(rows),
        "age": rng.integers(18, 90, rows),
        "race": rng.choice(["African-American", "Caucasian", "Hispanic", "Other"], rows),
        "sex": rng.choice(["Male", "Female"], rows),
        "priors_count": rng.poisson(3, rows),
        "score": rng.random(rows),
        "decile_score": rng.integers(1, 11, rows),
        "two_year_recid": rng.integers(0, 2, rows),
    })
    pcsv.write_csv(tbl, path)


def run_one(kind: str, csv: Path, out: Path) -> dict:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    extra: dict = {}
    if kind.startswith("reference"):
        tbl = pcsv.read_csv(csv)
        pq.write_table(tbl, out / "plain.parquet",
                       **({"compression": "zstd"} if kind.endswith("zstd") else {}))
    else:
        import pyarrow as pa
        import pyarrow.compute as pc

        from pipelines.content_hash import ContentHasher
        from pipelines.splits import StreamSplitter
        from pipelines.store import Staging

        reader = pcsv.open_csv(csv, read_options=pcsv.ReadOptions(block_size=16 << 20))
        splitter = StreamSplitter(test_fraction=0.2, seed=0,
                                  stratify=["race", "sex", "two_year_recid"])
        if kind == "hash-only":
            hasher = ContentHasher(reader.schema)
            for batch in reader:
                hasher.update(batch)
            extra["digest"] = hasher.hexdigest()[:12]
        elif kind == "split-only":
            extra["test"] = int(sum(splitter.assign(b).sum() for b in reader))
        else:
            with Staging(out / "ledger", "bench") as stg:
                for batch in reader:
                    mask = pa.array(splitter.assign(batch))
                    stg.write_batch("test", batch.filter(mask))
                    stg.write_batch("train", batch.filter(pc.invert(mask)))
                res = stg.publish(sources=[], spec_digest="bench",
                                  split_definition=splitter.split_definition())
            extra = {"status": res.status, "version": res.version[:12], "rows": res.rows}
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "seconds": seconds, "peak_rss_mb": rss, **extra}


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(run_one(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        make_csv(csv, rows)
        print(f"rows {rows:,}; csv {csv.stat().st_size / 1e6:.0f} MB")
        kinds = ["reference", "reference-zstd", "hash-only", "split-only", "ledger",
                 "ledger-again"]
        results = {}
        for kind in kinds:
            proc = subprocess.run([sys.executable, __file__, "--one", kind.replace("-again", ""),
                                   str(csv), tmp], capture_output=True, text=True, check=True)
            results[kind] = json.loads(proc.stdout)
        ref = results["reference"]["seconds"]
        print(f"{'measurement':<16}{'seconds':>9}{'x reference':>13}{'peak RSS MB':>13}  notes")
        for kind, r in results.items():
            notes = {k: v for k, v in r.items() if k not in ("kind", "seconds", "peak_rss_mb")}
            print(f"{kind:<16}{r['seconds']:>9.2f}{r['seconds'] / ref:>13.2f}"
                  f"{r['peak_rss_mb']:>13.0f}  {notes or ''}")


if __name__ == "__main__":
    main()
