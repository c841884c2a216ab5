"""Quality gate (GX) vs the same checks written directly in pyarrow.compute.

Generates a COMPAS-like table (the compas spec's columns that matter to its
suite) of N rows (default 10 million) as Parquet, then runs, each in its own
subprocess so that peak RSS is honest:

* ``gate``   : pipelines.quality.run_gate (GX Core, pandas, BASIC result format)
* ``direct`` : the same expectations computed with pyarrow.compute

Both include reading the Parquet file. Prints times, peak RSS, the table's
in-memory size and the ratios.

    .venv/bin/python benchmarks/quality.py [--rows 10000000]
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
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RACES = ["African-American", "Asian", "Caucasian", "Hispanic", "Native American", "Other"]
KEEP = ["id", "sex", "age", "age_cat", "race", "juv_fel_count", "decile_score", "priors_count",
        "days_b_screening_arrest", "c_charge_degree", "is_recid", "decile_score_dup", "score_text",
        "v_decile_score", "priors_count_dup", "two_year_recid"]


def bench_spec():  # the compas spec restricted to the generated columns
    from pipelines.spec import load_spec

    spec = load_spec(ROOT / "datasets_spec" / "compas.yaml")
    cols = {k: v for k, v in spec.columns.items() if k in KEEP}
    from pipelines.quality_spec import column_args

    exps = [e for e in spec.expectations
            if all(c in KEEP for c in column_args(e.expectation, e.args))]
    return spec.model_copy(update={"columns": cols, "expectations": exps, "row_count": None})


def generate(n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    decile = rng.integers(1, 11, n)
    priors = rng.poisson(3, n)
    days = rng.integers(-40, 40, n).astype("float64")
    days[rng.random(n) < 0.04] = np.nan
    age = rng.integers(18, 80, n)
    cats = np.array(["Less than 25", "25 - 45", "Greater than 45"])
    table = pa.table({
        "id": pa.array(np.arange(1, n + 1)),
        "sex": pa.DictionaryArray.from_arrays(rng.integers(0, 2, n).astype("int32"),
                                              ["Female", "Male"]),
        "age": pa.array(age),
        "age_cat": pa.DictionaryArray.from_arrays(
            np.searchsorted([25, 45], age, side="right").astype("int32"), cats.tolist()),
        "race": pa.DictionaryArray.from_arrays(rng.integers(0, 6, n).astype("int32"), RACES),
        "juv_fel_count": pa.array(rng.poisson(0.1, n)),
        "decile_score": pa.array(decile),
        "priors_count": pa.array(priors),
        "days_b_screening_arrest": pa.array(days, from_pandas=True).cast(pa.int64()),
        "c_charge_degree": pa.DictionaryArray.from_arrays(rng.integers(0, 2, n).astype("int32"),
                                                          ["F", "M"]),
        "is_recid": pa.array(rng.integers(0, 2, n)),
        "decile_score_dup": pa.array(decile),
        "score_text": pa.DictionaryArray.from_arrays(
            np.searchsorted([5, 8], decile, side="right").astype("int32"),
            ["Low", "Medium", "High"]),
        "v_decile_score": pa.array(rng.integers(1, 11, n)),
        "priors_count_dup": pa.array(priors),
        "two_year_recid": pa.array(rng.integers(0, 2, n)),
    })
    pq.write_table(table, path, row_group_size=1 << 20)
    print(json.dumps({"nbytes": table.nbytes}))


def _unexpected(plan, table: pa.Table) -> int | None:
    name, a = plan.expectation, plan.args
    if name == "expect_column_to_exist":
        return 0 if a["column"] in table.column_names else 1
    if name == "expect_column_type_to_be":
        return 0
    if name == "expect_table_row_count_to_be_between":
        return 0
    if name == "expect_compound_columns_to_be_unique":
        counts = table.group_by(a["column_list"]).aggregate([([], "count_all")])
        c = counts["count_all"]
        return pc.sum(pc.filter(c, pc.greater(c, 1))).as_py() or 0
    if name in ("expect_column_pair_values_to_be_equal",):
        return pc.sum(pc.not_equal(table[a["column_A"]], table[a["column_B"]])).as_py() or 0
    col = table[a["column"]]
    if name == "expect_column_values_to_not_be_null":
        return col.null_count
    if name == "expect_column_values_to_be_in_set":
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        return pc.sum(pc.invert(pc.is_in(col, pa.array(a["value_set"])))).as_py() or 0
    if name == "expect_column_values_to_be_between":
        lo, hi = a.get("min_value"), a.get("max_value")
        bad = pc.or_(pc.less(col, lo) if lo is not None else pc.equal(col, col),
                     pc.greater(col, hi) if hi is not None else pc.not_equal(col, col))
        return pc.sum(bad).as_py() or 0
    if name == "expect_column_values_to_be_unique":
        vc = pc.value_counts(col).field("counts")
        return pc.sum(pc.filter(vc, pc.greater(vc, 1))).as_py() or 0
    raise NotImplementedError(name)


def run_direct(path: Path) -> dict:
    from pipelines.quality_suite import plan_suite

    spec = bench_spec()
    table = pq.read_table(path)
    plan = plan_suite(spec, table.column_names)
    return {p.expectation + ":" + str(p.args.get("column", "")): _unexpected(p, table)
            for p in plan}


def run_gate_mode(path: Path) -> dict:
    from pipelines.quality import run_gate

    report = run_gate(bench_spec(), {"all": path})
    return {r["expectation"] + ":" + str(r["args"].get("column", "")): r["unexpected_count"]
            for r in report.results}


def child(mode: str, path: Path) -> None:
    if mode == "gate":  # import GX before timing: its import cost is fixed, not per row
        import great_expectations  # noqa: F401
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = run_gate_mode(path) if mode == "gate" else run_direct(path)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": secs, "peak_kb": peak, "base_kb": base, "counts": out}))


def _spawn(*args: str) -> dict:
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--child", choices=["gate", "direct", "generate"])
    ap.add_argument("--path")
    args = ap.parse_args()
    if args.child == "generate":
        generate(args.rows, Path(args.path))
        return
    if args.child:
        child(args.child, Path(args.path))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compas_like.parquet"
        made = _spawn("--child", "generate", "--rows", str(args.rows), "--path", str(path))
        nbytes = made["nbytes"]
        direct = _spawn("--child", "direct", "--path", str(path))
        gate = _spawn("--child", "gate", "--path", str(path))
    mb = 1024.0
    same = {k: (direct["counts"][k], gate["counts"][k]) for k in gate["counts"]
            if gate["counts"][k] is not None and direct["counts"].get(k) != gate["counts"][k]}
    print(f"rows: {args.rows:,}   table in memory: {nbytes / 2**20:,.0f} MiB   "
          f"expectations: {len(gate['counts'])}")
    print(f"{'':10}{'seconds':>10}{'peak RSS MiB':>14}{'RSS - base MiB':>16}")
    for name, r in (("pyarrow", direct), ("GX gate", gate)):
        print(f"{name:10}{r['seconds']:>10.2f}{r['peak_kb'] / mb:>14,.0f}"
              f"{(r['peak_kb'] - r['base_kb']) / mb:>16,.0f}")
    print(f"time ratio gate/direct: {gate['seconds'] / direct['seconds']:.2f}x (goal <= 3x)")
    peak_ratio = (gate["peak_kb"] - gate["base_kb"]) * 1024 / nbytes
    print(f"gate peak (above its start) / table size: {peak_ratio:.2f}x (goal < 3x)")
    print("unexpected counts agree" if not same else f"counts DIFFER: {same}")


if __name__ == "__main__":
    main()
