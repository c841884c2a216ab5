"""Benchmark: stream a dataset audit over a generated Parquet file (default 1e8 rows).

Generates a Parquet file in row groups (three sensitive features: race with
6 values, sex with 2, age band with 3; a binary label; a numeric and a
categorical feature), then audits it with :func:`audits.dataset_audit.audit_dataset`
in a fresh subprocess and prints wall time and peak RSS. Side by side, on the
size given by --compare-rows (default 2e6; pandas + fairlearn take about a
minute there), the same group shares,
base rates and label parity computed with pandas + fairlearn
(``MetricFrame`` of ``selection_rate`` over the labels), in its own subprocess.
The file is deleted afterwards.

Usage: ``python benchmarks/dataset_audit.py [--rows 1e8] [--compare-rows 2e6]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUP_ROWS = 1 << 20

SPEC = {
    "name": "bench", "title": "generated", "license": "CC0", "citation": "generated",
    "sources": [{"url": "file:///dev/null", "sha256": "0" * 64}],
    "label": {"column": "y", "positive": [1]},
    "sensitive": [{"column": "race", "categories": ["A", "B", "C", "D", "E", "F"]},
                  {"column": "sex", "categories": ["F", "M"]},
                  {"column": "age", "categories": ["<25", "25-45", ">45"]}],
    "intersections": [["race", "sex"], ["race", "sex", "age"]],
    "split": {"kind": "all"},
}


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` generated rows to ``path`` in row groups of 2**20."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    cats = {"race": (list("ABCDEF"), [0.5, 0.3, 0.1, 0.06, 0.03, 0.01]),
            "sex": (["F", "M"], [0.4, 0.6]), "age": (["<25", "25-45", ">45"], [0.2, 0.5, 0.3]),
            "job": ([f"j{i}" for i in range(12)], None)}
    writer = None
    done = 0
    while done < rows:
        n = min(GROUP_ROWS, rows - done)
        cols = {}
        for name, (values, p) in cats.items():
            idx = rng.choice(len(values), size=n, p=p).astype(np.int8)
            cols[name] = pa.DictionaryArray.from_arrays(idx, pa.array(values))
        race = cols["race"].indices.to_numpy()
        cols["y"] = pa.array((rng.random(n) < 0.2 + 0.05 * race).astype(np.int64))
        cols["income"] = pa.array(rng.normal(40 + 3 * race, 10, n).astype(np.float32))
        batch = pa.RecordBatch.from_pydict(cols)
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_batch(batch, row_group_size=GROUP_ROWS)
        done += n
    assert writer is not None
    writer.close()


_OURS = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from audits.dataset_audit import audit_dataset
from pipelines.spec import parse_spec
spec = parse_spec(json.loads({spec!r}))
t = time.perf_counter()
audit = audit_dataset(spec, {{"all": Path({path!r})}}, spec_dir=Path("."))
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
race = audit["label_bias"]["features"]["race"]
print(json.dumps({{"seconds": secs, "peak_bytes": peak, "rows": audit["rows"],
                  "parity_ratio": race["parity"]["ratio"]["value"],
                  "base_rates": {{r["group"]: r["base_rate"] for r in race["groups"]}},
                  "mups": len(audit["coverage"]["patterns"]["maximal_uncovered"])}}))
"""

_PANDAS = """
import json, resource, sys, time
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate
t = time.perf_counter()
df = pd.read_parquet({path!r})
shares = {{c: df[c].value_counts(normalize=True).to_dict() for c in ("race", "sex", "age")}}
mf = MetricFrame(metrics=selection_rate, y_true=df["y"], y_pred=df["y"],
                 sensitive_features=df["race"])
cells = df.groupby(["race", "sex", "age"], observed=False).size()
missing = df.isna().groupby(df["race"], observed=False).mean()
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": secs, "peak_bytes": peak, "rows": len(df),
                  "parity_ratio": float(mf.ratio()),
                  "base_rates": {{str(k): float(v) for k, v in mf.by_group.items()}}}}))
"""


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Generate, audit, compare, print, delete."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=float, default=1e8)
    parser.add_argument("--compare-rows", type=float, default=2e6)
    args = parser.parse_args()
    spec = json.dumps(SPEC)
    with tempfile.TemporaryDirectory(prefix="fl-bench-", dir=ROOT) as tmp:
        sizes = sorted({int(args.compare_rows), int(args.rows)})
        print(f"{'rows':>12} {'tool':<18} {'seconds':>9} {'peak MB':>9} {'rows/s':>12}  check")
        for rows in sizes:
            path = Path(tmp) / f"bench_{rows}.parquet"
            t = time.perf_counter()
            generate(path, rows)
            gen = time.perf_counter() - t
            size_mb = path.stat().st_size / 2**20
            print(f"{rows:>12,} {'(generate)':<18} {gen:>9.1f} {'':>9} {'':>12}  "
                  f"{size_mb:.0f} MB Parquet")
            ours = _run(_OURS.format(root=str(ROOT), spec=spec, path=str(path)))
            print(f"{rows:>12,} {'fairledger':<18} {ours['seconds']:>9.1f} "
                  f"{ours['peak_bytes'] / 2**20:>9.0f} {rows / ours['seconds']:>12,.0f}  "
                  f"parity ratio {ours['parity_ratio']:.6f}, {ours['mups']} MUPs")
            if rows == int(args.compare_rows):
                ref = _run(_PANDAS.format(path=str(path)))
                same = all(abs(ref["base_rates"][g] - v) < 1e-12
                           for g, v in ours["base_rates"].items())
                print(f"{rows:>12,} {'pandas+fairlearn':<18} {ref['seconds']:>9.1f} "
                      f"{ref['peak_bytes'] / 2**20:>9.0f} {rows / ref['seconds']:>12,.0f}  "
                      f"parity ratio {ref['parity_ratio']:.6f}, base rates equal: {same}")
                print(f"{'':>12} {'ratio (ours/ref)':<18} {ours['seconds'] / ref['seconds']:>9.2f} "
                      f"{ours['peak_bytes'] / ref['peak_bytes']:>9.2f}")
            path.unlink()


if __name__ == "__main__":
    main()
