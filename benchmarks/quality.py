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


def _faults(n: int, rng: np.random.Generator, arrays: dict[str, np.ndarray]) -> None:
    """Inject faults the gate must count: exact duplicate rows (the last n/10,000 rows copy
    random earlier rows, so duplicates span chunk boundaries) and ages of 150."""
    k = max(1, n // 10_000)
    src = rng.choice(n - k, k, replace=False)
    for arr in arrays.values():
        arr[n - k:] = arr[src]
    arrays["age"][rng.choice(n - k, max(1, n // 100_000), replace=False)] = 150


def generate(n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    decile = rng.integers(1, 11, n)
    priors = rng.poisson(3, n)
    age = rng.integers(18, 80, n)
    days = rng.integers(-40, 40, n).astype("float64")
    days[rng.random(n) < 0.04] = np.nan
    codes = {
        "id": np.arange(1, n + 1), "sex": rng.integers(0, 2, n).astype("int32"), "age": age,
        "age_cat": np.searchsorted([25, 45], age, side="right").astype("int32"),
        "race": rng.integers(0, 6, n).astype("int32"), "juv_fel_count": rng.poisson(0.1, n),
        "decile_score": decile, "priors_count": priors, "days_b_screening_arrest": days,
        "c_charge_degree": rng.integers(0, 2, n).astype("int32"),
        "is_recid": rng.integers(0, 2, n), "decile_score_dup": decile.copy(),
        "score_text": np.searchsorted([5, 8], decile, side="right").astype("int32"),
        "v_decile_score": rng.integers(1, 11, n), "priors_count_dup": priors.copy(),
        "two_year_recid": rng.integers(0, 2, n),
    }
    _faults(n, rng, codes)
    words = {"sex": ["Female", "Male"], "age_cat": ["Less than 25", "25 - 45", "Greater than 45"],
             "race": RACES, "c_charge_degree": ["F", "M"], "score_text": ["Low", "Medium", "High"]}
    cols = {}
    for name, values in codes.items():
        if name in words:
            cols[name] = pa.DictionaryArray.from_arrays(values, words[name])
        elif name == "days_b_screening_arrest":
            cols[name] = pa.array(values, from_pandas=True).cast(pa.int64())
        else:
            cols[name] = pa.array(values)
    table = pa.table(cols)
    pq.write_table(table, path, row_group_size=1 << 20)
    pq.write_table(table.slice(0, 1000), path.with_name("few.parquet"))
    print(json.dumps({"nbytes": table.nbytes}))


# --- the direct checks: pyarrow compute (and numpy on the Arrow buffers), null-aware like GX ---

def _duplicated_rows(key: np.ndarray) -> int:
    """Rows whose key occurs more than once (exact: sort and compare neighbours)."""
    ordered = np.sort(key)
    same = ordered[1:] == ordered[:-1]
    mask = np.zeros(len(ordered), dtype=bool)
    mask[1:] |= same
    mask[:-1] |= same
    return int(mask.sum())


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Exact dense codes of a column (equal values <=> equal codes; null its own code)."""
    if pa.types.is_dictionary(col.type):  # dictionaries unified: indices are codes
        size = len(col.chunk(0).dictionary) if col.num_chunks else 0
        idx = pa.chunked_array([c.indices for c in col.chunks], col.type.index_type)
        return pc.fill_null(idx, size).to_numpy().astype(np.uint64), size + 1
    if pa.types.is_integer(col.type):
        span = pc.min_max(col).as_py()
        low, high = span["min"] or 0, span["max"] or 0
        filled = pc.fill_null(col, low - 1)
        return pc.subtract(filled, low - 1).to_numpy().astype(np.uint64), high - low + 2
    ranks = pc.rank(col.combine_chunks(), tiebreaker="dense")  # other types: dense ranks
    return ranks.to_numpy().astype(np.uint64), len(col) + 1


def _exact_duplicate_rows(table: pa.Table) -> int:
    """Exact duplicate rows: one mixed-radix integer key per row, re-densified before overflow."""
    table = table.unify_dictionaries()
    key = np.zeros(table.num_rows, dtype=np.uint64)
    radix = 1
    for name in table.column_names:
        codes, size = _codes(table[name])
        if radix * size >= 2**63:
            key = np.unique(key, return_inverse=True)[1].astype(np.uint64)
            radix = int(key.max()) + 1 if len(key) else 1
        key = key * np.uint64(size) + codes
        radix *= size
    return _duplicated_rows(key)


def _not_in_set(col: pa.ChunkedArray, values: list) -> int:
    if pa.types.is_dictionary(col.type):  # test the dictionary once, then look rows up by index
        bad = 0
        for chunk in col.chunks:
            ok = pc.is_in(chunk.dictionary, pa.array(values, chunk.dictionary.type))
            bad += pc.sum(pc.invert(pc.take(ok, chunk.indices))).as_py() or 0
        return bad
    inside = pc.is_in(col, pa.array(values, col.type))
    return pc.sum(pc.and_(pc.is_valid(col), pc.invert(inside))).as_py() or 0


def _unexpected(plan, table: pa.Table) -> int | None:
    name, a = plan.expectation, plan.args
    if name in ("expect_column_to_exist", "expect_column_type_to_be",
                "expect_table_row_count_to_be_between"):
        return None  # schema / table level: no unexpected count in GX either
    if name == "expect_compound_columns_to_be_unique":
        return _exact_duplicate_rows(table.select(a["column_list"]))
    if name == "expect_column_pair_values_to_be_equal":
        return pc.sum(pc.not_equal(table[a["column_A"]], table[a["column_B"]])).as_py() or 0
    col = table[a["column"]]
    if name == "expect_column_values_to_not_be_null":
        return col.null_count
    if name == "expect_column_values_to_be_in_set":
        return _not_in_set(col, a["value_set"])
    if name == "expect_column_values_to_be_between":
        lo, hi = a.get("min_value"), a.get("max_value")
        below = pc.less_equal if a.get("strict_min") else pc.less
        above = pc.greater_equal if a.get("strict_max") else pc.greater
        never = pc.not_equal(col, col)  # False (null where null)
        bad = pc.or_(below(col, lo) if lo is not None else never,
                     above(col, hi) if hi is not None else never)
        return pc.sum(bad).as_py() or 0
    if name == "expect_column_values_to_be_unique":
        return _duplicated_rows(pc.drop_null(col).to_numpy())
    raise ValueError(f"the pyarrow reference has no check for {name}; add one to compare it")


def _count_key(expectation: str, args: dict) -> str:
    cols = [str(args[k]) for k in ("column", "column_A", "column_B") if args.get(k)]
    return f"{expectation}({', '.join(cols)})"


def run_direct(path: Path) -> dict:
    from pipelines.quality_suite import plan_suite

    spec = bench_spec()
    table = pq.read_table(path)
    plan = plan_suite(spec, table.column_names)
    return {_count_key(p.expectation, p.args): _unexpected(p, table) for p in plan}


def run_gate_mode(path: Path, chunk_rows: int | None = None) -> dict:
    from pipelines.quality import run_gate

    report = run_gate(bench_spec(), {"all": path}, chunk_rows=chunk_rows)
    return {_count_key(r["expectation"], r["args"]): r["unexpected_count"]
            for r in report.results}


def child(mode: str, path: Path, chunk_rows: int | None) -> None:
    if mode == "gate":  # import GX before timing: its import cost is fixed, not per row
        import great_expectations  # noqa: F401
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = run_gate_mode(path, chunk_rows) if mode == "gate" else run_direct(path)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": secs, "peak_kb": peak, "base_kb": base, "counts": out}))


def _spawn(*args: str) -> dict:
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _report(rows: int, nbytes: int, direct: dict, gate: dict, small: dict) -> None:
    mb = 1024.0
    keys = sorted(set(direct["counts"]) | set(gate["counts"]))
    differ = {k: (direct["counts"].get(k), gate["counts"].get(k)) for k in keys
              if direct["counts"].get(k) != gate["counts"].get(k)}
    print(f"rows: {rows:,}   table in memory: {nbytes / 2**20:,.0f} MiB   "
          f"expectations: {len(gate['counts'])} distinct")
    print(f"{'':10}{'seconds':>10}{'peak RSS MiB':>14}{'RSS - base MiB':>16}")
    for name, r in (("pyarrow", direct), ("GX gate", gate)):
        print(f"{name:10}{r['seconds']:>10.2f}{r['peak_kb'] / mb:>14,.0f}"
              f"{(r['peak_kb'] - r['base_kb']) / mb:>16,.0f}")
    print(f"time ratio gate/direct: {gate['seconds'] / direct['seconds']:.2f}x (goal <= 3x)")
    peak_ratio = (gate["peak_kb"] - gate["base_kb"]) * 1024 / nbytes
    print(f"gate peak (above its start) / table size: {peak_ratio:.2f}x (goal < 3x)")
    fixed = (small["peak_kb"] - small["base_kb"]) / mb
    print(f"  of which fixed (same gate on 1,000 rows): {fixed:,.0f} MiB, "
          f"{small['seconds']:.2f} s")
    nonzero = {k: v for k, v in gate["counts"].items() if v}
    print(f"non-zero unexpected counts (gate): {nonzero}")
    print("unexpected counts agree on every expectation" if not differ
          else f"counts DIFFER (direct, gate): {differ}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--chunk-rows", type=int, default=None,
                    help="gate chunk size (default: automatic)")
    ap.add_argument("--child", choices=["gate", "direct", "generate"])
    ap.add_argument("--path")
    args = ap.parse_args()
    if args.child == "generate":
        generate(args.rows, Path(args.path))
        return
    if args.child:
        child(args.child, Path(args.path), args.chunk_rows)
        return
    chunk = ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else []
    with tempfile.TemporaryDirectory() as tmp:
        path, few = Path(tmp) / "compas_like.parquet", Path(tmp) / "few.parquet"
        made = _spawn("--child", "generate", "--rows", str(args.rows), "--path", str(path))
        # (never read the data here: children inherit this process's peak RSS across exec)
        direct = _spawn("--child", "direct", "--path", str(path))
        gate = _spawn("--child", "gate", "--path", str(path), *chunk)
        small = _spawn("--child", "gate", "--path", str(few))
    _report(args.rows, made["nbytes"], direct, gate, small)


if __name__ == "__main__":
    main()
