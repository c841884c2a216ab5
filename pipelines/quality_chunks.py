"""Validate a chunked source with GX: one streaming pass, then uniqueness and whole-column runs.

How each kind of expectation is combined is described in :mod:`pipelines.quality_run`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.quality_run import (
    GXRunner,
    Kind,
    Source,
    evaluation_kind,
    judge,
    merge_map_results,
    needed_columns,
    plan_key,
    raised,
)
from pipelines.quality_source import ValueKinds, declared_frame, to_frame
from pipelines.quality_spill import HashStore
from pipelines.quality_suite import PlannedExpectation

__all__ = ["UniqueTracker", "validate_source", "suite_result"]


class UniqueTracker:
    """Streaming 64-bit row hashes of one uniqueness expectation's columns.

    The hashes are held by a :class:`~pipelines.quality_spill.HashStore`:
    in memory for small tables, spilled to partition files by hash prefix
    for large ones, so memory does not grow with the row count.

    Parameters
    ----------
    planned : PlannedExpectation
        ``expect_column_values_to_be_unique`` or ``expect_compound_columns_to_be_unique``.
    num_rows : int
        Rows of the table (decides whether the hashes spill to disk).
    folder : pathlib.Path, optional
        Where spilled hashes go (the system temporary folder when None).
    """

    def __init__(
        self, planned: PlannedExpectation, num_rows: int = 0, folder: Path | None = None
    ) -> None:
        args = planned.args
        self.planned = planned
        single = planned.expectation == "expect_column_values_to_be_unique"
        self.columns: list[str] = [args["column"]] if single else list(args["column_list"])
        # GX skips nulls of a column map; ignore_row_if decides for a multicolumn map
        self.ignore = "any_value_is_missing" if single else str(
            args.get("ignore_row_if") or "all_values_are_missing"
        )
        self.store = HashStore(num_rows, folder)
        self.rows = 0
        self.ignored = 0

    def add(self, frame: Any) -> None:
        """Hash the rows of one chunk (in row order) that GX does not ignore."""
        import pandas as pd

        sub = frame[self.columns]
        hashes = pd.util.hash_pandas_object(sub, index=False).to_numpy()
        positions = np.arange(self.rows, self.rows + len(sub), dtype=np.int64)
        if self.ignore != "never" and len(sub):
            missing = sub.isna()
            rule = missing.any(axis=1) if self.ignore == "any_value_is_missing" else missing.all(
                axis=1
            )
            skip = rule.to_numpy(dtype=bool)
            if skip.any():
                hashes, positions = hashes[~skip], positions[~skip]
                self.ignored += int(skip.sum())
        self.store.add(hashes, positions)
        self.rows += len(sub)

    def candidates(self) -> np.ndarray:
        """Row positions (ascending) whose hash occurs more than once: every duplicate is one."""
        return self.store.repeated_rows()

    def close(self) -> None:
        """Remove any spilled hashes (idempotent)."""
        self.store.close()


def _read_rows(source: Source, columns: list[str], rows: np.ndarray) -> pa.Table:
    """Read back the given rows (ascending positions) of some columns, in row order."""
    parts = []
    offset = 0
    for chunk in source.chunks(columns):
        n = chunk.num_rows
        lo, hi = np.searchsorted(rows, [offset, offset + n])
        if hi > lo:
            parts.append(chunk.take(rows[lo:hi] - offset))
        offset += n
    return pa.concat_tables(parts)


def _finish_unique(
    trackers: list[UniqueTracker], source: Source, runner: GXRunner, values: ValueKinds
) -> dict[str, Any]:
    """GX validates the uniqueness expectations on the candidate rows; totals are judged.

    All expectations share one frame: the union of their candidates. That is
    exact for each: a row that is not a candidate of expectation E has a hash
    no other row shares on E's columns, so it is a duplicate of no row there.
    """
    from great_expectations.expectations.registry import get_expectation_impl

    wanted = [t.candidates() for t in trackers]
    checked: dict[str, Any] = {}
    if any(len(w) for w in wanted):
        rows = np.unique(np.concatenate(wanted))
        cols = [n for n in source.schema.names if any(n in t.columns for t in trackers)]
        frame = to_frame(_read_rows(source, cols, rows), values)
        _, checked = runner.run(runner.definition([t.planned for t in trackers]), frame)
    out: dict[str, Any] = {}
    for tracker in trackers:
        key = plan_key(tracker.planned)
        counts: dict[str, Any] = {"unexpected_count": 0, "values": []}
        if key in checked:
            if raised(checked[key]):
                out[key] = checked[key]
                continue
            counts = merge_map_results([checked[key]])
        counts.update(element_count=tracker.rows, missing_count=tracker.ignored)
        impl = get_expectation_impl(tracker.planned.expectation)
        config = impl(**tracker.planned.args, meta={"fairledger_key": key}).configuration
        out[key] = judge(tracker.planned, counts, config)
    return out


def _combine(kind: Kind, planned: PlannedExpectation, results: list[Any]) -> Any:
    failed = [r for r in results if raised(r)]
    if kind == "schema" or failed:
        return (failed or results)[0]
    config = results[0].expectation_config
    if kind == "row_count":
        total = sum(int(r.result["observed_value"]) for r in results)
        return judge(planned, {"table.row_count": total}, config)
    return judge(planned, merge_map_results(results), config)


#: Whole-column expectations whose GX result depends only on the column's set of values.
DISTINCT_ONLY = frozenset({"expect_column_unique_value_count_to_be_between"})


def _distinct_only(planned: PlannedExpectation) -> bool:
    return planned.expectation in DISTINCT_ONLY and not planned.args.get("row_condition")


def _distinct_frame(source: Source, planned: PlannedExpectation, values: ValueKinds) -> Any:
    """One row per distinct value (null included) of the expectation's column, streamed.

    GX counts distinct non-null values, so this frame gives it the same
    observed value as the whole column while holding only the distinct values.
    """
    import pyarrow.compute as pc

    column = planned.args["column"]
    field = source.schema.field(column)
    parts = []
    for chunk in source.chunks([column]):
        data = chunk.column(column)
        if pa.types.is_dictionary(field.type):
            data = data.cast(field.type.value_type)
        parts.append(pc.unique(data))
        parts = [pc.unique(pa.chunked_array(parts))] if len(parts) > 64 else parts
    kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    merged = pc.unique(pa.chunked_array(parts, type=kind))
    table = pa.table({column: merged}).cast(pa.schema([field]))
    return to_frame(table, values)


def _stream(
    source: Source,
    schema: list[PlannedExpectation],
    streamed: list[PlannedExpectation],
    trackers: list[UniqueTracker],
    runner: GXRunner,
    values: ValueKinds,
) -> tuple[dict[str, list[Any]], Any]:
    """Make the one pass over the chunks: schema checks, per-chunk GX runs, row hashes."""
    definition = runner.definition(streamed) if streamed else None
    per_chunk: dict[str, list[Any]] = defaultdict(list)
    first = None
    for chunk in source.chunks():
        if schema and first is None:  # dtypes only: the chunk's head is enough
            first, out = runner.run(runner.definition(schema), declared_frame(chunk.slice(0, 1000)))
            per_chunk.update({k: [r] for k, r in out.items()})
        frame = to_frame(chunk, values)
        del chunk
        if definition is not None:
            run, out = runner.run(definition, frame)
            first = first or run
            for key, result in out.items():
                per_chunk[key].append(result)
        for tracker in trackers:
            tracker.add(frame)
        del frame
    return per_chunk, first


def validate_source(
    name: str, plan: list[PlannedExpectation], source: Source
) -> tuple[dict[str, Any], Any, GXRunner]:
    """Validate ``plan`` on ``source`` chunk by chunk.

    Parameters
    ----------
    name : str
        Dataset name.
    plan : list of PlannedExpectation
        The suite.
    source : ParquetSource or TableSource
        The rows, in chunks.

    Returns
    -------
    tuple
        (GX result by :func:`~pipelines.quality_run.plan_key`, the first GX run
        (for Data Docs) or None, the runner holding the GX context).
    """
    distinct = list({plan_key(p): p for p in plan}.values())
    kinds = {plan_key(p): evaluation_kind(p, source.schema.names) for p in distinct}
    by_kind: dict[str, list[PlannedExpectation]] = defaultdict(list)
    for p in distinct:
        by_kind[kinds[plan_key(p)]].append(p)
    streamed = by_kind["row_count"] + by_kind["map"]
    runner = GXRunner(name)
    values = source.value_kinds()
    folder = getattr(source, "spill_dir", None)
    trackers = [UniqueTracker(p, source.num_rows, folder) for p in by_kind["unique"]]
    try:
        per_chunk, first = _stream(source, by_kind["schema"], streamed, trackers, runner, values)
        results = {
            plan_key(p): _combine(kinds[plan_key(p)], p, per_chunk[plan_key(p)])
            for p in by_kind["schema"] + streamed
        }
        del per_chunk
        results.update(_finish_unique(trackers, source, runner, values))
    finally:
        for tracker in trackers:
            tracker.close()
    distinct_only = [p for p in by_kind["whole"] if _distinct_only(p)]
    for planned in distinct_only:
        frame = _distinct_frame(source, planned, values)
        run, out = runner.run(runner.definition([planned]), frame)
        first = first or run
        results.update(out)
    whole = [p for p in by_kind["whole"] if not _distinct_only(p)]
    if whole:
        cols = needed_columns(whole, source.schema) or None
        frame = to_frame(pa.concat_tables(list(source.chunks(cols))), values)
        run, out = runner.run(runner.definition(whole), frame)
        first = first or run
        results.update(out)
    return results, first, runner


def suite_result(first: Any, results: list[Any]) -> Any:
    """Assemble the combined results into one GX suite result (for Data Docs)."""
    from great_expectations.core import ExpectationSuiteValidationResult

    good = sum(1 for r in results if r.success)
    stats = {
        "evaluated_expectations": len(results),
        "successful_expectations": good,
        "unsuccessful_expectations": len(results) - good,
        "success_percent": 100.0 * good / len(results) if results else None,
    }
    return ExpectationSuiteValidationResult(
        success=good == len(results), results=results, suite_name=first.suite_name,
        statistics=stats, meta=first.meta,
    )
