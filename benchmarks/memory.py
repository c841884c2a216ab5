"""Memory benchmark: peak RSS of each step of ``fairledger build`` against the source size.

For each requested CSV size it generates a source shaped like the
reliability tests' ``synthetic_csv`` (id, x1, x2, group, score, y; unique
ids, a three-group sensitive feature, a binary label) plus a spec, then in
fresh subprocesses measures:

(a) the reference: ``pyarrow.csv.read_csv`` of the whole file (what reading
    the source into memory costs);
(b) fairledger: the real ``build_dataset`` flow body with its Prefect tasks
    replaced by their plain functions (no Prefect server). The peak RSS of
    every step (resolve, ingest+split, quality gate, dataset audit, publish)
    is read from ``/proc/self/status`` VmHWM, which is reset between steps
    through ``/proc/self/clear_refs``; the process peak is ``ru_maxrss``.

Usage::

    .venv/bin/python benchmarks/memory.py               # 150 MB and 600 MB
    .venv/bin/python benchmarks/memory.py --mb 100 400 1600
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

SPEC = """\
name: membench
title: generated memory benchmark
license: CC0
citation: none
sources:
  - url: https://example.invalid/data.csv
    sha256: {sha}
    format: csv
columns: {{id: int64, x1: float64, x2: float64, group: category, score: int64, y: int64}}
label: {{column: y, positive: [1]}}
sensitive: [{{column: group}}]
id_column: id
split: {{kind: random, test_fraction: 0.3}}
models: [{{id: score, kind: score_column, column: score, threshold: 5}}]
thresholds: {{min_group_size: 5}}
"""
STEPS = ("resolve_sources", "ingest_and_split", "quality_gate", "audit_staged",
         "publish_version")


def generate(path: Path, target_bytes: int, seed: int = 0, chunk: int = 500_000) -> tuple[int, str]:
    """Write CSV rows until the file holds at least ``target_bytes``; return (rows, sha256)."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    digest = hashlib.sha256()
    rows = written = 0
    groups = np.array(["a", "b", "c"])
    options = pacsv.WriteOptions(include_header=True, quoting_style="none")
    with open(path, "wb") as fh:
        while written < target_bytes:
            x1, x2 = np.round(rng.normal(size=chunk), 6), np.round(rng.normal(size=chunk), 6)
            g = groups[rng.choice(3, size=chunk, p=[0.5, 0.3, 0.2])]
            prob = 1 / (1 + np.exp(-(1.2 * x1 - x2 + (g == "b") * 0.4)))
            table = pa.table({"id": np.arange(rows, rows + chunk), "x1": x1, "x2": x2,
                              "group": g, "score": np.rint(prob * 10).astype(np.int64),
                              "y": (rng.random(chunk) < prob).astype(np.int64)})
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, options)
            data = buf.getvalue()
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            fh.write(data)
            digest.update(data)
            written += len(data)
            rows += chunk
    return rows, digest.hexdigest()


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_hwm() -> None:
    import gc

    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # pragma: no cover - older kernels: peaks become cumulative
        pass


def child_build(home: str, spec: str) -> dict[str, Any]:
    """Run the build flow's body with plain functions; return the peak RSS (MB) per step."""
    import logging

    import great_expectations  # noqa: F401  (warm, as a long-running CLI would be)
    from prefect import Task

    import audits.dataset_audit  # noqa: F401
    import pipelines.quality  # noqa: F401
    from flows import build as fb

    peaks: dict[str, float] = {}

    def measured(name: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            _reset_hwm()
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                peaks[name] = round(_hwm_mb(), 1)
                peaks[name + "_cpu_s"] = round(time.process_time() - start, 1)
        return run

    for attr, value in list(vars(fb).items()):
        if isinstance(value, Task):
            setattr(fb, attr, measured(attr, value.fn))
    fb.get_run_logger = lambda: logging.getLogger("membench")  # type: ignore[assignment,misc]
    result = fb.build_dataset.fn(spec, home)
    # clear_refs also resets ru_maxrss: the process peak is the largest step peak
    peaks["process"] = max(v for k, v in peaks.items() if not k.endswith("_cpu_s"))
    return {"peaks": peaks, "status": result.get("status"), "rows": result.get("rows")}


def child_reference(csv_path: str) -> dict[str, Any]:
    """Read the whole CSV with pyarrow; return the peak RSS (MB)."""
    import resource

    import pyarrow.csv as pacsv

    _reset_hwm()
    table = pacsv.read_csv(csv_path)
    return {"peaks": {"read_csv": round(_hwm_mb(), 1),
                      "process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024, 1)},
            "rows": table.num_rows}


def _run_child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL", "MALLOC_ARENA_MAX": "2"}
    out = subprocess.run([sys.executable, __file__, *args], env=env, cwd=REPO,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(mb: float, root: Path) -> dict[str, Any]:
    """Generate a source of ``mb`` MB under ``root``; measure the reference and the build."""
    folder = root / f"{mb:g}MB"
    (folder / "mirror" / "membench").mkdir(parents=True)
    csv_path = folder / "mirror" / "membench" / "data.csv"
    rows, sha = generate(csv_path, int(mb * (1 << 20)))
    spec = folder / "membench.yaml"
    spec.write_text(SPEC.format(sha=sha), encoding="utf-8")
    os.environ["FAIRLEDGER_MIRROR"] = str(folder / "mirror")
    reference = _run_child(["--reference", str(csv_path)])
    build = _run_child(["--build", str(folder / "home"), str(spec)])
    size = csv_path.stat().st_size
    csv_path.unlink()
    return {"csv_mb": round(size / (1 << 20), 1), "rows": rows, "reference": reference["peaks"],
            "build": build["peaks"], "status": build["status"]}


def main() -> None:
    """Measure every requested size and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[150.0, 600.0])
    parser.add_argument("--build", nargs=2, metavar=("HOME", "SPEC"))
    parser.add_argument("--reference", metavar="CSV")
    args = parser.parse_args()
    if args.build:
        print(json.dumps(child_build(*args.build)))
        return
    if args.reference:
        print(json.dumps(child_reference(args.reference)))
        return
    with tempfile.TemporaryDirectory(prefix="fairledger-membench-") as tmp:
        results = [measure(mb, Path(tmp)) for mb in args.mb]
    cols = ("read_csv",) + STEPS + ("process",)
    print(f"{'csv MB':>8} {'rows':>10} " + " ".join(f"{c[:14]:>14}" for c in cols))
    for r in results:
        peaks = {**r["reference"], **r["build"]}
        print(f"{r['csv_mb']:>8} {r['rows']:>10} "
              + " ".join(f"{peaks.get(c, float('nan')):>14}" for c in cols))
    if len(results) > 1:
        lo, hi = results[0], results[-1]
        extra = hi["csv_mb"] - lo["csv_mb"]
        print("peak RSS growth / source growth (MB per MB of CSV):")
        for c in cols:
            a = {**lo["reference"], **lo["build"]}.get(c)
            b = {**hi["reference"], **hi["build"]}.get(c)
            if a is not None and b is not None:
                print(f"  {c:>16}: {(b - a) / extra:6.3f}")
        print("CPU seconds per step:", json.dumps({r["csv_mb"]: {k: v for k, v in r["build"].items()
                                                               if k.endswith("_cpu_s")}
                                                  for r in results}))


if __name__ == "__main__":
    main()
