"""The data-quality gate: run the spec's expectation suite with Great Expectations.

:func:`run_gate` streams the ingested splits (Parquet) in chunks (at most
:data:`DEFAULT_CHUNK_ROWS` rows), validates each chunk with the suite of
:func:`pipelines.quality_suite.plan_suite` as GX Core 1.x expectations in an
ephemeral context (pandas datasource), combines the chunks' results exactly
(:mod:`pipelines.quality_run` says how, expectation by expectation: per-row
counts add up and GX judges the totals, ``mostly`` included; uniqueness is
found across chunks through row hashes and confirmed by GX on the candidate
rows; aggregates run on just the columns they need) and returns a
:class:`QualityReport` (the content of ``quality.json``). The result does not
depend on the chunk size. A failed ``error`` expectation fails the gate; a
failed ``warn`` one is recorded. Great Expectations is imported inside the
functions that need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.errors import GateFailed
from pipelines.quality_run import RESULT_FORMAT, plan_key
from pipelines.quality_source import DEFAULT_CHUNK_ROWS, ParquetSource, TableSource
from pipelines.quality_spec import check_against_schema, validate_expectation_specs
from pipelines.quality_suite import PlannedExpectation, partition_from_reference, plan_suite
from pipelines.spec import DatasetSpec

__all__ = [
    "QUALITY_FORMAT",
    "MAX_EXAMPLES",
    "QualityReport",
    "DEFAULT_CHUNK_ROWS",
    "run_gate",
    "validate_source",
    "validate_table",
    "read_splits",
    "gate_failure",
    "failure_summary",
    "validate_expectation_specs",
    "check_against_schema",
    "partition_from_reference",
]

QUALITY_FORMAT = "fairledger.quality/1"
#: Example unexpected values kept per expectation (values, never whole rows).
MAX_EXAMPLES = 20
#: GX result format of every run (counts plus the first unexpected values).
GX_RESULT_FORMAT = RESULT_FORMAT


@dataclass
class QualityReport:
    """The outcome of one gate run (the content of ``quality.json``)."""

    dataset: str
    success: bool
    results: list[dict[str, Any]]
    rows: int
    gx_version: str
    fairledger_version: str
    data_docs: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_errors(self) -> list[dict[str, Any]]:
        """Results of failed expectations of severity ``error``."""
        return [r for r in self.results if not r["success"] and r["severity"] == "error"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Results of failed expectations of severity ``warn``."""
        return [r for r in self.results if not r["success"] and r["severity"] == "warn"]

    def summary(self) -> dict[str, Any]:
        """Return ``{"success", "evaluated", "failed", "warned"}``."""
        return {
            "success": self.success,
            "evaluated": len(self.results),
            "failed": len(self.failed_errors),
            "warned": len(self.warnings),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready ``quality.json`` document."""
        return {
            "format": QUALITY_FORMAT,
            "dataset": self.dataset,
            "success": self.success,
            "summary": self.summary(),
            "rows": self.rows,
            "great_expectations": self.gx_version,
            "fairledger": self.fairledger_version,
            "data_docs": self.data_docs,
            "results": self.results,
        }


def _jsonable(value: Any) -> Any:
    """Convert numpy / pandas / datetime values into plain JSON values."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for inner in info.values():
        if isinstance(inner, Mapping) and inner.get("raised_exception"):
            return str(inner.get("exception_message"))
    return None


def _examples(
    planned: PlannedExpectation, result: Mapping[str, Any], schema: pa.Schema
) -> list[Any]:
    """Distinct example unexpected values; only for single-column expectations.

    Values of an integer column that GX saw as float64 (nulls as NaN, see
    :func:`pipelines.quality_source.to_frame`) are reported as integers again.
    """
    column = planned.args.get("column")
    if column is None or planned.expectation.endswith("_to_not_be_null"):
        return []
    integral = column in schema.names and pa.types.is_integer(schema.field(column).type)
    seen: list[Any] = []
    for v in _jsonable(result.get("partial_unexpected_list") or []):
        if integral and isinstance(v, float) and v.is_integer():
            v = int(v)
        if v not in seen:
            seen.append(v)
    return seen[:MAX_EXAMPLES]


def _record(index: int, planned: PlannedExpectation, res: Any, schema: pa.Schema) -> dict[str, Any]:
    result = dict(res.result or {})
    columns = set(schema.names)
    error = _exception_message(res.exception_info)
    wanted = [c for k in ("column", "column_A", "column_B") if (c := planned.args.get(k))]
    wanted += list(planned.args.get("column_list") or [])
    missing = [c for c in wanted if c not in columns]
    if missing and planned.expectation != "expect_column_to_exist":
        error = f"column '{missing[0]}' does not exist"
    success = bool(res.success) and error is None
    return {
        "index": index,
        "expectation": planned.expectation,
        "args": _jsonable(planned.args),
        "severity": planned.severity,
        "origin": planned.origin,
        "spec_index": planned.spec_index,
        "description": planned.description,
        "success": success,
        "element_count": result.get("element_count"),
        "unexpected_count": result.get("unexpected_count"),
        "unexpected_percent": _jsonable(result.get("unexpected_percent")),
        "missing_count": result.get("missing_count"),
        "observed_value": _jsonable(result.get("observed_value")),
        "unexpected_examples": _examples(planned, result, schema),
        "error": error,
    }


def read_splits(split_paths: Mapping[str, Path]) -> pa.Table:
    """Read and concatenate the Parquet files of every split.

    The gate itself never does this (it streams the splits in chunks); this is
    for callers that want the whole table.

    Parameters
    ----------
    split_paths : mapping of str to pathlib.Path
        Split name -> Parquet file.

    Returns
    -------
    pyarrow.Table
        All rows of all splits, in split-name order.
    """
    import pyarrow.parquet as pq

    tables = [pq.read_table(split_paths[name]) for name in sorted(split_paths)]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _versions() -> tuple[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import great_expectations as gx

    try:
        own = version("fairledger")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        own = "0+unknown"
    return str(gx.__version__), own


def validate_source(
    spec: DatasetSpec,
    source: ParquetSource | TableSource,
    *,
    reference_partitions: Mapping[str, Mapping[str, Any]] | None = None,
    data_docs_dir: Path | None = None,
) -> QualityReport:
    """Run the gate's suite on a chunked source (see :mod:`pipelines.quality_run`).

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    source : ParquetSource or TableSource
        The ingested data (all splits), read in chunks.
    reference_partitions : mapping, optional
        Feature -> GX partition object for the KL-divergence warning.
    data_docs_dir : pathlib.Path, optional
        Where to write GX Data Docs HTML.

    Returns
    -------
    QualityReport
        One result per expectation, in suite order.
    """
    from pipelines.quality_chunks import suite_result
    from pipelines.quality_chunks import validate_source as run_chunks

    names = list(source.schema.names)
    plan = plan_suite(spec, names, reference_partitions=reference_partitions)
    by_key, first, runner = run_chunks(spec.name, plan, source)
    results = [_record(i, p, by_key[plan_key(p)], source.schema) for i, p in enumerate(plan)]
    docs = None
    if data_docs_dir is not None and first is not None:
        from pipelines.quality_docs import write_data_docs

        combined = suite_result(first, [by_key[k] for k in dict.fromkeys(map(plan_key, plan))])
        docs = write_data_docs(runner.context, combined, Path(data_docs_dir))
    gx_version, own = _versions()
    success = not any(not r["success"] and r["severity"] == "error" for r in results)
    meta = {"chunk_rows": source.chunk_rows}
    return QualityReport(spec.name, success, results, source.num_rows, gx_version, own, docs, meta)


def validate_table(
    spec: DatasetSpec,
    table: pa.Table,
    *,
    reference_partitions: Mapping[str, Mapping[str, Any]] | None = None,
    data_docs_dir: Path | None = None,
    chunk_rows: int | None = None,
) -> QualityReport:
    """Run the gate's suite on an in-memory Arrow table, in chunks of ``chunk_rows`` rows.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    table : pyarrow.Table
        The ingested data (all splits).
    reference_partitions : mapping, optional
        Feature -> GX partition object for the KL-divergence warning.
    data_docs_dir : pathlib.Path, optional
        Where to write GX Data Docs HTML.
    chunk_rows : int, optional
        Rows validated at once (default: a quarter of the table, between 64 Ki
        and :data:`DEFAULT_CHUNK_ROWS`); the result does not depend on it.

    Returns
    -------
    QualityReport
        One result per expectation, in suite order.
    """
    return validate_source(
        spec, TableSource(table, chunk_rows),
        reference_partitions=reference_partitions, data_docs_dir=data_docs_dir,
    )


def run_gate(
    spec: DatasetSpec,
    split_paths: Mapping[str, Path],
    *,
    data_docs_dir: Path | None = None,
    reference_partitions: Mapping[str, Mapping[str, Any]] | None = None,
    path: str = "<spec>",
    chunk_rows: int | None = None,
) -> QualityReport:
    """Run the quality gate on the ingested splits, streaming them in chunks.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    split_paths : mapping of str to pathlib.Path
        Split name -> Parquet file of the staged (not yet published) data.
    data_docs_dir : pathlib.Path, optional
        Where to write GX Data Docs HTML (e.g. ``<version>/data_docs``).
    reference_partitions : mapping, optional
        Feature -> GX partition object (:func:`partition_from_reference`) for
        the optional KL-divergence warning of ``reference.kl_expectation``.
    path : str
        The spec file, named in spec errors.
    chunk_rows : int, optional
        Rows validated at once (default: a quarter of the table, between 64 Ki
        and :data:`DEFAULT_CHUNK_ROWS`); bounds memory, the result does not
        depend on it.

    Returns
    -------
    QualityReport
        ``success`` is False when an ``error`` expectation failed.

    Raises
    ------
    SpecError
        When a spec expectation is unknown, malformed, or refers to a column
        that neither exists nor is declared (checked before any validation).
    """
    validate_expectation_specs(spec, path=path)
    source = ParquetSource(split_paths, chunk_rows)
    check_against_schema(spec, source.schema, path=path)
    return validate_source(
        spec, source, reference_partitions=reference_partitions, data_docs_dir=data_docs_dir
    )


def _failure_item(r: dict[str, Any]) -> str:
    cols = [str(r["args"][k]) for k in ("column", "column_A", "column_B") if k in r["args"]]
    target = f"({', '.join(cols)})" if cols else ""
    if r["error"]:
        return f"{r['expectation']}{target}: {r['error']}"
    if r["unexpected_count"] is not None:
        return f"{r['expectation']}{target}: {r['unexpected_count']} unexpected"
    observed = r["observed_value"]
    return f"{r['expectation']}{target}: observed {observed}" if observed is not None else (
        f"{r['expectation']}{target}: failed"
    )


def failure_summary(report: QualityReport) -> str:
    """Return "quality gate failed (N of M expectations): <name>(<column>): K unexpected; ..."."""
    failed = report.failed_errors
    items = "; ".join(_failure_item(r) for r in failed)
    return f"quality gate failed ({len(failed)} of {len(report.results)} expectations): {items}"


def gate_failure(report: QualityReport, quarantine_path: Path | str) -> GateFailed:
    """Build the one-line error of a failed gate.

    Parameters
    ----------
    report : QualityReport
        A report whose ``success`` is False.
    quarantine_path : pathlib.Path or str
        Where the attempt was kept.

    Returns
    -------
    GateFailed
        Naming each failed ``error`` expectation with its unexpected count,
        and the quarantine folder (exit code 1).
    """
    return GateFailed(
        f"{failure_summary(report)}; nothing was published, "
        f"the attempt is kept in {quarantine_path}",
        where=report.dataset,
        fix=f"fix the data or the spec's expectations and rebuild; "
        f"details in {Path(quarantine_path) / 'quality.json'}",
    )
