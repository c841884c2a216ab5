"""Coverage: maximal uncovered patterns of a constructed dataset, and COMPAS's small cells."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from audits.coverage import cells_report, maximal_uncovered_patterns
from audits.dataset_audit import audit_dataset
from pipelines.spec import parse_spec

LEVELS = [["a0", "a1"], ["b0", "b1"], ["c0", "c1", "c2", "c3"]]


def _constructed() -> np.ndarray:
    """Known answer (tau = 10): MUPs are (a0, b0, *), (*, *, c2) and (*, *, c3)."""
    t = np.zeros((2, 2, 4), dtype=np.int64)
    t[0, 0, :3] = 1          # a0 & b0: 3 rows in all -> uncovered, parents covered
    t[0, 1, :2] = 30         # a0 & b1
    t[1, :, :2] = 30         # a1
    # c2 has one row (a0, b0, c2); c3 is declared but has no row
    return t


def _naive_mups(table: np.ndarray, levels: list[list[str]], tau: int) -> set[tuple[str, ...]]:
    options = [list(range(len(lv))) + [None] for lv in levels]

    def cov(p: tuple) -> int:
        index = tuple(slice(None) if v is None else v for v in p)
        return int(table[index].sum())

    out = set()
    for p in itertools.product(*options):
        if cov(p) >= tau:
            continue
        parents = [p[:i] + (None,) + p[i + 1:] for i, v in enumerate(p) if v is not None]
        if all(cov(q) >= tau for q in parents):
            out.add(tuple("*" if v is None else levels[i][v] for i, v in enumerate(p)))
    return out


def _found(result: dict) -> set[tuple[str, ...]]:
    return {tuple(m["pattern"].values()) for m in result["maximal_uncovered"]}


def test_constructed_dataset_known_answer() -> None:
    result = maximal_uncovered_patterns(_constructed(), ["A", "B", "C"], LEVELS, 10)
    assert _found(result) == {("a0", "b0", "*"), ("*", "*", "c2"), ("*", "*", "c3")}
    by_label = {m["label"]: (m["n"], m["level"]) for m in result["maximal_uncovered"]}
    assert by_label == {"C=c3": (0, 1), "C=c2": (1, 1), "A=a0, B=b0": (3, 2)}
    assert result["patterns_checked"] == 3 * 3 * 5


def test_constructed_dataset_through_the_audit(tmp_path: Path) -> None:
    t = _constructed()
    rows = [(a, b, c) for (i, a), (j, b), (k, c) in itertools.product(
        *[list(enumerate(lv)) for lv in LEVELS]) for _ in range(t[i, j, k])]
    a, b, c = zip(*rows, strict=True)
    table = pa.table({"A": a, "B": b, "C": c, "y": [1] * len(rows)})
    pq.write_table(table, tmp_path / "all.parquet", row_group_size=17)
    spec = parse_spec({
        "name": "cov", "title": "t", "license": "x", "citation": "x",
        "sources": [{"url": "file:///x", "sha256": "0" * 64}], "label": {"column": "y",
                                                                          "positive": [1]},
        "sensitive": [{"column": n, "categories": lv} for n, lv in zip("ABC", LEVELS,
                                                                        strict=True)],
        "intersections": ["A&B"], "thresholds": {"min_group_size": 10}})
    audit = audit_dataset(spec, {"all": tmp_path / "all.parquet"}, spec_dir=tmp_path,
                          batch_size=17)
    assert _found(audit["coverage"]["patterns"]) == {("a0", "b0", "*"), ("*", "*", "c2"),
                                                     ("*", "*", "c3")}
    cells = audit["coverage"]["intersections"][0]
    assert cells["small"] == ["a0&b0"] and cells["empty"] == []
    codes = [f["code"] for f in audit["findings"] if f["severity"] == "warn"]
    assert codes.count("uncovered_pattern") == 3 and codes.count("small_intersection_cell") == 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data(), st.integers(1, 40))
def test_matches_naive_enumeration(sizes: list[int], data: st.DataObject, tau: int) -> None:
    levels = [[f"v{i}" for i in range(k)] for k in sizes]
    cells = int(np.prod(sizes))
    flat = data.draw(st.lists(st.integers(0, 30), min_size=cells, max_size=cells))
    table = np.array(flat).reshape(sizes)
    names = [f"f{i}" for i in range(len(sizes))]
    result = maximal_uncovered_patterns(table, names, levels, tau)
    assert _found(result) == _naive_mups(table, levels, tau)


def test_cells_report_lists_every_cell() -> None:
    rep = cells_report("A&B", [["x", "y"], ["p", "q"]], np.array([[5, 0], [40, 31]]), 30)
    assert [(c["group"], c["n"], c["small"]) for c in rep["cells"]] == [
        ("x&p", 5, True), ("x&q", 0, True), ("y&p", 40, False), ("y&q", 31, False)]
    assert rep["small"] == ["x&p", "x&q"] and rep["empty"] == ["x&q"]


def test_compas_small_intersections(shared_data: Path, tmp_path: Path) -> None:
    from audit_versions import SPECS, build_version

    spec, _, paths = build_version(SPECS / "compas.yaml", tmp_path, shared_data)
    audit = audit_dataset(spec, paths, spec_dir=SPECS)
    raw = pacsv.read_csv(shared_data / "compas" / "compas-scores-two-years.csv")
    counts = raw.group_by(["race", "sex"]).aggregate([("id", "count")])
    direct = {f"{r}&{s}": n for r, s, n in zip(*(counts.column(c).to_pylist() for c in
                                                 ("race", "sex", "id_count")), strict=True)}
    expected_small = sorted(k for k, n in direct.items() if n < 30)
    cells = audit["coverage"]["intersections"][0]
    assert cells["feature"] == "race&sex"
    assert sorted(cells["small"]) == expected_small
    assert {"Asian&Female", "Native American&Female", "Native American&Male"} <= set(
        cells["small"])
    mups = {m["label"]: m["n"] for m in audit["coverage"]["patterns"]["maximal_uncovered"]}
    assert mups["race=Native American"] == 18 and mups["race=Asian, sex=Female"] == 2
