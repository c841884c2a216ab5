"""Benchmark: fairledger's counts-first audit against fairlearn's MetricFrame.

Run: ``.venv/bin/python benchmarks/audit.py [--max-rows 1e8]``

1. 1e5 and 1e6 rows, in one process: fairlearn ``MetricFrame`` (accuracy,
   selection rate, TPR, FPR, count) for race, sex and race&sex, against
   fairledger (counts + the same metrics); times, peak traced memory, ratio,
   and the largest absolute difference between the two sets of numbers.
2. 1e7 and 1e8 rows from Parquet, fairledger alone, each audit in a child
   process (honest peak RSS); the Parquet file is written row group by row
   group in a temporary folder and deleted afterwards.
3. Bootstrap: fairlearn ``MetricFrame(n_boot=100)`` against fairledger
   ``n_boot=1000`` (all disparities of all features).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audits.counts import count_confusion  # noqa: E402
from audits.engine import audit_counts  # noqa: E402
from audits.fairness import confusion_cells, rates  # noqa: E402

RACES = np.array(["African-American", "Caucasian", "Hispanic", "Asian", "Native American", "Other"])
SEXES = np.array(["Female", "Male"])
FEATURES = (("race",), ("sex",), ("race", "sex"))


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(len(RACES), n, p=[0.45, 0.3, 0.12, 0.05, 0.03, 0.05])
    sex = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + 0.05 * race / 5).astype(np.int8)
    p = np.where(rng.random(n) < 0.7, y, 1 - y).astype(np.int8)
    return pd.DataFrame({"y": y, "p": p, "race": RACES[race], "sex": SEXES[sex]})


def run_fairlearn(df: pd.DataFrame, n_boot: int | None = None) -> dict:
    import fairlearn.metrics as flm
    import sklearn.metrics as skm

    metrics = {"accuracy": skm.accuracy_score, "selection_rate": flm.selection_rate,
               "tpr": flm.true_positive_rate, "fpr": flm.false_positive_rate,
               "count": flm.count}
    out = {}
    for feats in FEATURES:
        sf = df[list(feats)] if len(feats) > 1 else df[feats[0]]
        extra = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 0}
        extra = extra if n_boot else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = flm.MetricFrame(metrics=metrics, y_true=df["y"], y_pred=df["p"],
                                    sensitive_features=sf, **extra)
        out["&".join(feats)] = frame
        if n_boot:
            frame.difference_ci(method="between_groups")
            frame.ratio_ci(method="between_groups")
    return out


def run_fairledger(source, n_boot: int = 0) -> tuple:
    counts = count_confusion(source, label="y", prediction="p", sensitive=["race", "sex"],
                             intersections=[("race", "sex")])
    return counts, audit_counts(counts, n_boot=n_boot, min_group_size=30)


def max_gap(frames: dict, counts) -> float:
    gap = 0.0
    for item in counts.features:
        ours = rates(confusion_cells(item.flat()))
        ours["count"] = ours["n"]
        by = frames[item.feature].by_group
        index = [tuple(g.split("&")) for g in item.groups] if len(item.members) > 1 else list(
            item.groups)
        for name in ("accuracy", "selection_rate", "tpr", "fpr", "count"):
            theirs = by[name].reindex(index).to_numpy(dtype=float)
            gap = max(gap, float(np.nanmax(np.abs(ours[name] - theirs))))
    return gap


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    value = func(*args, **kwargs)
    return value, time.perf_counter() - start, 0.0


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    return _rss()


def memory_child(tool: str, n: int) -> None:
    """Peak RSS growth of one tool's audit over the data already in memory."""
    df = make_frame(n)
    import gc

    (run_fairlearn if tool == "fairlearn" else run_fairledger)(df.head(1000))  # imports, warm-up

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to now
    before = _hwm()
    if tool == "fairlearn":
        run_fairlearn(df)
    else:
        run_fairledger(df)
    print(json.dumps({"peak_growth_mib": _hwm() - before}))


def _memory(tool: str, n: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--memory", tool, str(n)], check=True,
                         capture_output=True, text=True)
    return float(json.loads(out.stdout)["peak_growth_mib"])


def side_by_side(n: int) -> None:
    df = make_frame(n)
    run_fairledger(df.head(1000))  # warm imports for both
    run_fairlearn(df.head(1000))
    frames, t_fl, _ = timed(run_fairlearn, df)
    (counts, _), t_ours, _ = timed(run_fairledger, df)
    m_fl, m_ours = _memory("fairlearn", n), _memory("fairledger", n)
    print(f"{n:>11,} rows | fairlearn {t_fl:8.3f} s, peak +{m_fl:7.1f} MiB | fairledger "
          f"{t_ours:7.3f} s, peak +{m_ours:6.1f} MiB | speed-up {t_fl / t_ours:7.1f}x | "
          f"max |diff| {max_gap(frames, counts):.1e}", flush=True)


def write_parquet(path: Path, n: int, chunk: int = 2_000_000) -> None:
    writer = None
    for i, start in enumerate(range(0, n, chunk)):
        df = make_frame(min(chunk, n - start), seed=i)
        table = pa.Table.from_pandas(df, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
    assert writer is not None
    writer.close()


def child(path: str) -> None:
    start = time.perf_counter()
    counts, result = run_fairledger(path, n_boot=1000)
    elapsed = time.perf_counter() - start
    peak = _hwm()  # VmHWM: ru_maxrss would inherit the parent's peak across fork
    print(json.dumps({"seconds": elapsed, "peak_rss_mib": peak, "rows": result.metrics["n"]}))


def from_parquet(n: int, folder: Path) -> None:
    path = folder / f"audit_{n}.parquet"
    start = time.perf_counter()
    write_parquet(path, n)
    written = time.perf_counter() - start
    out = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True,
                         capture_output=True, text=True)
    stats = json.loads(out.stdout)
    probe = ("import pathlib, pyarrow.parquet, numpy, audits.engine; "
             "print([int(x.split()[1]) / 1024 for x in pathlib.Path('/proc/self/status')"
             ".read_text().splitlines() if x.startswith('VmHWM')][0])")
    base = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[1])
    print(f"{n:>11,} rows | fairledger from Parquet (counts + n_boot=1000) "
          f"{stats['seconds']:7.2f} s | {n / stats['seconds'] / 1e6:6.1f} M rows/s | peak RSS "
          f"{stats['peak_rss_mib']:7.1f} MiB (imports alone {float(base.stdout):.0f} MiB) | "
          f"file {path.stat().st_size / 2**20:.0f} MiB written in {written:.0f} s", flush=True)
    path.unlink()


def bootstrap(n: int) -> None:
    df = make_frame(n)
    _, t_fl, _ = timed(run_fairlearn, df, n_boot=100)
    counts, _ = run_fairledger(df)
    _, t_ours, _ = timed(audit_counts, counts, n_boot=1000)
    _, t_none, _ = timed(audit_counts, counts, n_boot=0)
    print(f"{n:>11,} rows | fairlearn MetricFrame n_boot=100 {t_fl:8.2f} s | fairledger "
          f"n_boot=1000 {t_ours:6.3f} s (of which bootstrap {t_ours - t_none:6.3f} s; all "
          f"{len(counts.features)} features x 24 disparities) | per replicate "
          f"{t_fl / 100 / (t_ours / 1000):,.0f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-rows", type=float, default=1e8)
    parser.add_argument("--child", default=None)
    parser.add_argument("--memory", nargs=2, default=None)
    parser.add_argument("--parts", default="compare,parquet,bootstrap")
    args = parser.parse_args()
    if args.memory:
        memory_child(args.memory[0], int(args.memory[1]))
        return
    if args.child:
        child(args.child)
        return
    parts = args.parts.split(",")
    if "compare" in parts:
        print("== MetricFrame vs fairledger (accuracy, selection rate, TPR, FPR, count; race, "
              "sex, race&sex), same process")
        for n in (100_000, 1_000_000):
            side_by_side(n)
    if "parquet" in parts:
        print("== fairledger alone, streaming from Parquet, one child process per size")
        with tempfile.TemporaryDirectory() as tmp:
            for n in (10_000_000, 100_000_000):
                if n <= args.max_rows:
                    from_parquet(n, Path(tmp))
    if "bootstrap" in parts:
        print("== bootstrap")
        bootstrap(10_000)
        counts, _ = run_fairledger(make_frame(1_000_000))
        _, t_big, _ = timed(audit_counts, counts, n_boot=1000)
        print(f"  1,000,000 rows | fairledger n_boot=1000 {t_big:6.3f} s (row count does not "
              "matter: the draw is over count cells)", flush=True)


if __name__ == "__main__":
    main()
