"""Run a planned suite with Great Expectations chunk by chunk and combine the results exactly.

The table is validated in chunks (:mod:`pipelines.quality_source`) so that the
gate's memory is bounded by the chunk size, not the table size. GX evaluates
every expectation and GX decides every success; what differs by expectation
is what GX sees:

``map`` (per row)
    Column, column-pair and multicolumn map expectations whose answer for a
    row depends on that row only (``..._to_be_in_set``, ``..._to_be_between``,
    ``..._to_not_be_null``, regexes, lengths, ``expect_column_pair_values_*``,
    ``expect_multicolumn_sum_to_equal``, ...). GX validates each chunk (BASIC
    result format, ``row_condition`` applied per chunk). Element, missing and
    unexpected counts are added, and the first 20 unexpected values are kept
    in row order. The summed metrics are then handed to the expectation's own
    GX ``_validate``. So ``mostly`` is decided on the totals (non-missing minus
    unexpected, over non-missing, at least ``mostly``), and a chunk's own
    verdict is never used.
``row_count``
    ``expect_table_row_count_to_be_between`` / ``_to_equal``: GX counts the rows
    of each chunk (after ``row_condition``). The counts are added, and GX's
    ``_validate`` judges the total.
``schema``
    ``expect_column_to_exist``, ``expect_column_type_to_be``,
    ``expect_table_column_count_*``, ``expect_table_columns_to_match_*``:
    their answer depends only on column names and dtypes, which are the same
    in every chunk (every chunk is conformed to one Arrow schema). GX checks
    them once, on the head of the first chunk converted with the declared
    dtypes (:func:`pipelines.quality_source.declared_frame`); every other
    expectation sees the exact, vectorisable representation of
    :func:`pipelines.quality_source.to_frame`.
``unique``
    ``expect_column_values_to_be_unique`` and
    ``expect_compound_columns_to_be_unique`` without ``row_condition``. These
    cannot be decided per chunk. While the chunks stream past, each row of
    the expectation's columns is hashed to 64 bits
    (``pandas.util.hash_pandas_object``). Rows GX ignores are counted and not
    hashed: a null value for a single column; for compound columns, all or
    any values missing, as ``ignore_row_if`` says. Every duplicated row has a
    duplicated hash, so the rows whose hash occurs more than once are the
    candidates. They are read back in row order and GX validates the
    expectation on them alone, which rules out hash collisions exactly. GX's
    unexpected count and values, with the total and ignored row counts, are
    judged by GX's ``_validate`` as for ``map``.
``whole``
    Everything else: column aggregates (min, max, mean, median, stdev, sum,
    quantiles, proportions, unique value counts, distinct values, most
    common value), KL divergence, increasing/decreasing, z-scores, outliers,
    value types, and uniqueness with a ``row_condition``. GX makes one run on
    the whole table restricted to the columns these expectations name, plus
    any column named in their ``row_condition``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any, Literal

import pyarrow as pa

from pipelines.quality_source import ParquetSource, TableSource
from pipelines.quality_spec import column_args
from pipelines.quality_suite import PlannedExpectation

__all__ = [
    "Kind",
    "RESULT_FORMAT",
    "evaluation_kind",
    "plan_key",
    "jsonable_args",
    "GXRunner",
    "merge_map_results",
    "judge",
    "needed_columns",
    "raised",
    "Source",
    "MAX_VALUES",
]

MAX_VALUES = 20
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": MAX_VALUES,
    "include_unexpected_rows": False,
}
Kind = Literal["schema", "row_count", "map", "unique", "whole"]
Source = ParquetSource | TableSource

SCHEMA_LEVEL = frozenset(
    {
        "expect_column_to_exist",
        "expect_column_type_to_be",
        "expect_table_column_count_to_be_between",
        "expect_table_column_count_to_equal",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_columns_to_match_set",
    }
)
ROW_COUNT = frozenset({"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"})
UNIQUE = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
#: Map expectations whose answer for a row depends on other rows (or on value types).
CROSS_ROW_MAPS = frozenset(
    {
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
        "expect_column_value_z_scores_to_be_less_than",
        "expect_column_values_to_not_be_outliers",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        *UNIQUE,
    }
)


def evaluation_kind(planned: PlannedExpectation, columns: Iterable[str]) -> Kind:
    """Return how ``planned`` is evaluated over chunks (see the module docstring).

    Parameters
    ----------
    planned : PlannedExpectation
        The expectation.
    columns : iterable of str
        Columns of the table.

    Returns
    -------
    {"schema", "row_count", "map", "unique", "whole"}
    """
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    name = planned.expectation
    if name in SCHEMA_LEVEL:
        return "schema"
    if name in ROW_COUNT:
        return "row_count"
    present = set(columns)
    cols = column_args(name, planned.args)
    if name in UNIQUE and not planned.args.get("row_condition") and set(cols) <= present:
        return "unique"
    if name in CROSS_ROW_MAPS:
        return "whole"
    maps = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    return "map" if issubclass(get_expectation_impl(name), maps) else "whole"


def jsonable_args(args: dict[str, Any]) -> Any:
    """Arguments as plain JSON (for keys): values JSON cannot hold become strings."""
    return json.loads(json.dumps(args, sort_keys=True, default=str))


def plan_key(planned: PlannedExpectation) -> str:
    """Identify an expectation by name and arguments (GX merges equal expectations)."""
    return json.dumps([planned.expectation, jsonable_args(planned.args)], sort_keys=True)


def needed_columns(plan: Iterable[PlannedExpectation], schema: pa.Schema) -> list[str]:
    """Columns of ``schema`` that ``plan`` names in arguments or in a ``row_condition``."""
    wanted: set[str] = set()
    for p in plan:
        wanted.update(column_args(p.expectation, p.args))
        condition = str(p.args.get("row_condition") or "")
        wanted.update(n for n in schema.names if n in condition and re.search(
            rf"(?<![\w]){re.escape(n)}(?![\w])", condition))
    return [n for n in schema.names if n in wanted]


class GXRunner:
    """One ephemeral GX context with a pandas dataframe asset; validates frames.

    Parameters
    ----------
    name : str
        Dataset name (names the asset and suites).
    """

    def __init__(self, name: str) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.name = name
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_pandas("fairledger")
        asset = self.datasource.add_dataframe_asset(name)
        self.batch = asset.add_batch_definition_whole_dataframe("all")
        self._count = 0

    def definition(self, plan: list[PlannedExpectation]) -> Any:
        """Register a suite of the distinct expectations of ``plan``; return its definition."""
        import great_expectations as gx
        from great_expectations.expectations.registry import get_expectation_impl

        self._count += 1
        label = f"{self.name}-gate-{self._count}"
        distinct = {plan_key(p): p for p in plan}
        expectations = [
            get_expectation_impl(p.expectation)(**p.args, meta={"fairledger_key": key})
            for key, p in distinct.items()
        ]  # the suite is stored once, not once per added expectation
        suite = self.context.suites.add(gx.ExpectationSuite(name=label, expectations=expectations))
        return self.context.validation_definitions.add(
            gx.ValidationDefinition(name=label, data=self.batch, suite=suite)
        )

    def run(self, definition: Any, frame: Any) -> tuple[Any, dict[str, Any]]:
        """Validate ``frame``; return the GX run and its results by expectation key."""
        try:
            run = definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
        finally:
            self.forget_frames()
        return run, {r.expectation_config.meta["fairledger_key"]: r for r in run.results}

    def forget_frames(self) -> None:
        """Drop the frames GX's cached execution engine keeps after each run.

        The pandas datasource reuses one execution engine whose batch manager
        keeps every validated frame (a new batch id per run), so without this
        the gate would hold every chunk it has seen.
        """
        manager = getattr(self.datasource.execution_engine, "batch_manager", None)
        if manager is None:
            return
        manager.batch_data_cache.clear()
        manager.reset_batch_cache()


def raised(result: Any) -> bool:
    """Whether GX reported an exception for this result."""
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def merge_map_results(results: list[Any]) -> dict[str, Any]:
    """Add the counts of per-chunk map results; keep the first unexpected values in order.

    Returns
    -------
    dict
        ``element_count``, ``missing_count`` (None when GX reports none),
        ``unexpected_count`` and ``values`` (at most 20).
    """
    element = sum(int(r.result.get("element_count") or 0) for r in results)
    has_missing = any("missing_count" in r.result for r in results)
    missing = sum(int(r.result.get("missing_count") or 0) for r in results)
    unexpected = sum(int(r.result.get("unexpected_count") or 0) for r in results)
    values: list[Any] = []
    for r in results:
        values.extend(r.result.get("partial_unexpected_list") or [])
        if len(values) >= MAX_VALUES:
            break
    return {
        "element_count": element,
        "missing_count": missing if has_missing else None,
        "unexpected_count": unexpected,
        "values": values[:MAX_VALUES],
    }


def _map_metrics(impl: Any, counts: dict[str, Any]) -> dict[str, Any]:
    element, missing = counts["element_count"], counts["missing_count"] or 0
    metric = impl.map_metric
    return {
        "table.row_count": element,
        "column_values.nonnull.unexpected_count": missing,
        f"{metric}.unexpected_count": counts["unexpected_count"],
        f"{metric}.unexpected_values": counts["values"],
        f"{metric}.filtered_row_count": element - missing,
    }


def judge(planned: PlannedExpectation, metrics: dict[str, Any], config: Any) -> Any:
    """Let the expectation's own GX ``_validate`` judge combined metrics.

    Parameters
    ----------
    planned : PlannedExpectation
        The expectation.
    metrics : dict
        For map and uniqueness expectations the output of
        :func:`merge_map_results`; otherwise GX metric name -> value.
    config : great_expectations.expectations.expectation_configuration.ExpectationConfiguration
        The configuration the combined result carries (with its ``fairledger_key``).

    Returns
    -------
    great_expectations.core.ExpectationValidationResult
    """
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.registry import get_expectation_impl

    impl = get_expectation_impl(planned.expectation)(**planned.args)
    if "values" in metrics:
        metrics = _map_metrics(impl, metrics)
    out = impl._validate(metrics=metrics, runtime_configuration={"result_format": RESULT_FORMAT})
    return ExpectationValidationResult(
        success=bool(out["success"]),
        result=out.get("result", {}),
        expectation_config=config,
    )
