"""The expectation suite of a spec: derived, always-on checks plus the spec's own.

:func:`plan_suite` returns plain :class:`PlannedExpectation` records (no GX
import); :mod:`pipelines.quality` turns them into GX expectations and runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.spec import DatasetSpec

__all__ = [
    "PlannedExpectation",
    "TYPE_NAMES",
    "KL_WARN_THRESHOLD",
    "plan_suite",
    "derived_expectations",
    "partition_from_reference",
]

#: pandas dtype (``expect_column_type_to_be``) of a column read from each declared type.
TYPE_NAMES: dict[str, str] = {
    "int64": "Int64",
    "float64": "float64",
    "string": "str",
    "category": "category",
    "bool": "boolean",
    "date": "datetime64",
    "timestamp": "datetime64",
}
#: KL divergence (nats) above which a sensitive feature's shares warn.
KL_WARN_THRESHOLD = 0.1


@dataclass(frozen=True)
class PlannedExpectation:
    """One expectation to run: its GX name, arguments and fairledger severity."""

    expectation: str
    args: dict[str, Any]
    severity: Literal["error", "warn"] = "error"
    origin: Literal["derived", "spec", "reference"] = "derived"
    description: str | None = None
    spec_index: int | None = field(default=None)


def _d(name: str, sev: Literal["error", "warn"], desc: str, **args: Any) -> PlannedExpectation:
    return PlannedExpectation(name, args, sev, "derived", desc)


def _column_checks(spec: DatasetSpec) -> list[PlannedExpectation]:
    out = []
    for col in spec.columns:
        ctype = spec.column_type(col) or "string"
        out.append(_d("expect_column_to_exist", "error", f"declared column {col}", column=col))
        out.append(
            _d(
                "expect_column_type_to_be", "error",
                f"declared column {col} has type {ctype}",
                column=col, type_=TYPE_NAMES[ctype],
            )
        )
    return out


def _label_checks(spec: DatasetSpec) -> list[PlannedExpectation]:
    col = spec.label.column
    out = [_d("expect_column_values_to_not_be_null", "error", "label is never null", column=col)]
    values = spec.label.values
    if values:
        out.append(
            _d("expect_column_values_to_be_in_set", "error", "label takes only declared values",
               column=col, value_set=list(values))
        )
    elif spec.label.task == "binary":
        out.append(
            _d("expect_column_unique_value_count_to_be_between", "error",
               "a binary label has at most two values", column=col, min_value=1, max_value=2)
        )
    return out


def _sensitive_checks(spec: DatasetSpec) -> list[PlannedExpectation]:
    out = []
    for feat in spec.sensitive:
        if feat.categories:
            out.append(
                _d("expect_column_values_to_be_in_set", "error",
                   f"sensitive feature {feat.column} takes only declared categories",
                   column=feat.column, value_set=list(feat.categories))
            )
        out.append(
            _d("expect_column_values_to_not_be_null", "warn",
               f"missing values of sensitive feature {feat.column} (counted)", column=feat.column)
        )
    return out


def derived_expectations(
    spec: DatasetSpec, columns: list[str] | None = None
) -> list[PlannedExpectation]:
    """Return the always-on expectations derived from the spec.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    columns : list of str, optional
        Columns of the ingested table, for the exact-duplicate-rows check.

    Returns
    -------
    list of PlannedExpectation
        Declared columns exist with their types; the label is never null and
        takes only declared values; sensitive features take only declared
        categories (nulls counted as a warning); the id column is unique; the
        row count lies within bounds; no exact duplicate rows (warning).
    """
    out = _column_checks(spec) + _label_checks(spec) + _sensitive_checks(spec)
    if spec.id_column:
        out.append(
            _d("expect_column_values_to_be_unique", "error", "id column is unique",
               column=spec.id_column)
        )
    bounds = spec.row_count
    if bounds is not None and (bounds.min is not None or bounds.max is not None):
        out.append(
            _d("expect_table_row_count_to_be_between", "error", "row count within spec bounds",
               min_value=bounds.min, max_value=bounds.max)
        )
    if columns and len(columns) > 1:
        out.append(
            _d("expect_compound_columns_to_be_unique", "warn", "no exact duplicate rows",
               column_list=list(columns))
        )
    return out


def partition_from_reference(
    shares: Mapping[str, float],
    mapping: Mapping[str, str] | None = None,
) -> dict[str, list[Any]] | None:
    """Build a GX categorical partition object from reference shares.

    Parameters
    ----------
    shares : mapping of str to float
        Reference shares keyed by reference category.
    mapping : mapping of str to str, optional
        Dataset category -> reference category. Reference categories reached
        by several dataset categories cannot be split and make the partition
        undefined (None is returned).

    Returns
    -------
    dict or None
        ``{"values": [dataset categories], "weights": [shares, summing to 1]}``.
    """
    mapping = dict(mapping or {k: k for k in shares})
    targets = list(mapping.values())
    if any(targets.count(t) > 1 for t in targets):
        return None
    pairs = [(cat, float(shares[ref])) for cat, ref in mapping.items() if ref in shares]
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        return None
    return {"values": [c for c, _ in pairs], "weights": [w / total for _, w in pairs]}


def _reference_checks(
    spec: DatasetSpec, partitions: Mapping[str, Mapping[str, Any]]
) -> list[PlannedExpectation]:
    if spec.reference is None or not spec.reference.kl_expectation:
        return []
    wanted = spec.reference.features or spec.sensitive_columns
    out = []
    for feature in wanted:
        part = partitions.get(feature)
        if not part:
            continue
        args = {"column": feature, "partition_object": dict(part), "threshold": KL_WARN_THRESHOLD}
        values = [str(v) for v in part["values"]]
        args["row_condition"] = f"`{feature}` in {values!r}"
        args["condition_parser"] = "pandas"
        out.append(
            PlannedExpectation(
                "expect_column_kl_divergence_to_be_less_than", args, "warn", "reference",
                f"shares of {feature} close to the reference population ({spec.reference.file})",
            )
        )
    return out


def plan_suite(
    spec: DatasetSpec,
    columns: list[str] | None = None,
    *,
    reference_partitions: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[PlannedExpectation]:
    """Return the whole suite: derived, reference (KL, warn) and spec expectations.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    columns : list of str, optional
        Columns of the ingested table.
    reference_partitions : mapping, optional
        Feature -> partition object (see :func:`partition_from_reference`).

    Returns
    -------
    list of PlannedExpectation
        In evaluation and reporting order.
    """
    out = derived_expectations(spec, columns)
    out += _reference_checks(spec, reference_partitions or {})
    for i, exp in enumerate(spec.expectations):
        out.append(
            PlannedExpectation(
                exp.expectation, dict(exp.args), exp.severity, "spec", exp.description, i
            )
        )
    return out
