"""Check a spec's ``expectations:`` before any data is read.

Three stages, cheapest first, each raising one :class:`SpecError` line that
names the expectation's index and name in the spec:

1. :func:`validate_expectation_specs` — names and argument names against the
   static :data:`~pipelines.quality_catalog.CATALOG` (no GX import, fast).
2. :func:`validate_expectation_args` — argument values through GX's own
   expectation models (imports GX lazily).
3. :func:`check_against_schema` — columns exist and have a type the
   expectation can be evaluated on (after ingest, against the Arrow schema).
"""

from __future__ import annotations

import difflib
from typing import Any

import pyarrow as pa

from pipelines.errors import SpecError
from pipelines.quality_catalog import CATALOG, PANDAS_UNSUPPORTED
from pipelines.spec import DatasetSpec, ExpectationSpec

__all__ = [
    "validate_expectation_specs",
    "validate_expectation_args",
    "check_against_schema",
    "column_args",
    "column_kind",
    "declared_columns",
]

#: Expectations that need a numeric column.
NUMERIC_ONLY = frozenset(
    {
        "expect_column_mean_to_be_between",
        "expect_column_stdev_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_value_z_scores_to_be_less_than",
        "expect_column_values_to_not_be_outliers",
        "expect_column_quantile_values_to_be_between",
    }
)
#: Expectations that need an ordered column (numeric or temporal).
ORDERED_ONLY = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_median_to_be_between",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }
)
#: Expectations that need a string column.
STRING_ONLY = frozenset(
    {
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_json_parseable",
        "expect_column_values_to_match_json_schema",
        "expect_column_values_to_be_dateutil_parseable",
    }
)
_NEEDS = {
    **{n: ("numeric",) for n in NUMERIC_ONLY},
    **{n: ("numeric", "temporal") for n in ORDERED_ONLY},
    **{n: ("string",) for n in STRING_ONLY},
}
_DECLARED_KIND = {
    "int64": "numeric",
    "float64": "numeric",
    "string": "string",
    "category": "string",
    "bool": "bool",
    "date": "temporal",
    "timestamp": "temporal",
}


def _error(index: int, name: str, problem: str, fix: str, path: str) -> SpecError:
    return SpecError(f"expectations[{index}] {name}: {problem}", where=path, fix=fix)


def _check_names(index: int, exp: ExpectationSpec, path: str) -> None:
    name = exp.expectation
    if name not in CATALOG:
        close = difflib.get_close_matches(name, list(CATALOG), n=3, cutoff=0.6)
        fix = (
            f"did you mean {' or '.join(close)}?"
            if close
            else "use a Great Expectations Core expectation name, "
            "e.g. expect_column_values_to_be_between, expect_column_values_to_be_in_set"
        )
        raise _error(index, name, "unknown expectation", fix, path)
    if name in PANDAS_UNSUPPORTED:
        raise _error(
            index, name, "cannot be evaluated on the pandas backend (SQL only)",
            "use an expectation the pandas backend supports, e.g. a regex one", path,
        )
    required, optional = CATALOG[name]
    valid = [*required, *optional]
    for arg in exp.args:
        if arg not in valid:
            close = [v for v in valid if v.startswith(arg)] or difflib.get_close_matches(
                arg, valid, n=1, cutoff=0.5
            )
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise _error(
                index, name, f"unknown argument '{arg}'",
                f"{hint}valid arguments: {', '.join(valid)}", path,
            )
    missing = [a for a in required if a not in exp.args]
    if missing:
        raise _error(
            index, name, f"missing argument '{missing[0]}'",
            f"add args.{missing[0]} (required: {', '.join(required)})", path,
        )


def validate_expectation_specs(spec: DatasetSpec, *, path: str = "<spec>") -> None:
    """Check every expectation name and argument name of ``spec`` (fast, no GX import).

    Parameters
    ----------
    spec : DatasetSpec
        A validated spec.
    path : str
        The spec file, named in errors.

    Raises
    ------
    SpecError
        For an unknown expectation (listing close valid names), an unknown
        argument (listing the valid ones) or a missing required argument.
    """
    for index, exp in enumerate(spec.expectations):
        _check_names(index, exp, path)


def _describe_v1_error(exc: Any) -> tuple[str, str]:
    """Return (problem, fix) from a pydantic v1 ValidationError raised by GX."""
    errors = exc.errors()
    loc = errors[0]["loc"][0] if errors and errors[0].get("loc") else "__root__"
    msgs = [e["msg"] for e in errors if e.get("loc", ("__root__",))[0] == loc]
    if loc == "__root__":
        return msgs[0], "correct the arguments as the message says"
    return f"argument '{loc}': {'; or '.join(dict.fromkeys(msgs))}", f"correct args.{loc}"


def validate_expectation_args(spec: DatasetSpec, *, path: str = "<spec>") -> None:
    """Check argument values through Great Expectations' own expectation models.

    Parameters
    ----------
    spec : DatasetSpec
        A spec that passed :func:`validate_expectation_specs`.
    path : str
        The spec file, named in errors.

    Raises
    ------
    SpecError
        When GX rejects an argument value (wrong type, inconsistent bounds).
    """
    from great_expectations.compatibility.pydantic import ValidationError
    from great_expectations.expectations.registry import get_expectation_impl

    for index, exp in enumerate(spec.expectations):
        impl = get_expectation_impl(exp.expectation)
        try:
            impl(**exp.args)
        except (ValidationError, TypeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                problem, fix = _describe_v1_error(exc)
            else:
                problem, fix = f"invalid arguments ({exc})", "correct the arguments"
            raise _error(index, exp.expectation, problem, fix, path) from None


def column_args(name: str, args: dict[str, Any]) -> list[str]:
    """Return the column names an expectation's arguments refer to.

    Parameters
    ----------
    name : str
        Expectation name.
    args : dict
        Its arguments.

    Returns
    -------
    list of str
        The columns in ``column``, ``column_A``, ``column_B`` and ``column_list``.
    """
    cols = [args[k] for k in ("column", "column_A", "column_B") if isinstance(args.get(k), str)]
    if name != "expect_table_columns_to_match_ordered_list":
        cols += [c for c in args.get("column_list") or [] if isinstance(c, str)]
    return cols


def column_kind(dtype: pa.DataType) -> str:
    """Classify an Arrow type as numeric, string, bool, temporal or other."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_temporal(dtype):
        return "temporal"
    return "other"


def declared_columns(spec: DatasetSpec) -> set[str]:
    """Return every column the spec declares (columns, derived, label, sensitive, id)."""
    names = set(spec.columns) | {d.name for d in spec.derived}
    names |= {spec.label.column, *spec.sensitive_columns}
    if spec.id_column:
        names.add(spec.id_column)
    return names


def check_against_schema(spec: DatasetSpec, schema: pa.Schema, *, path: str = "<spec>") -> None:
    """Check that the spec's expectations fit the ingested table's schema.

    A column neither in ``schema`` nor declared by the spec is a spec error.
    A declared column missing from the data is left to the gate, whose derived
    ``expect_column_to_exist`` fails (a data fault: quarantine, exit 1).
    Argument values are also checked through GX (:func:`validate_expectation_args`).

    Parameters
    ----------
    spec : DatasetSpec
        A spec that passed :func:`validate_expectation_specs`.
    schema : pyarrow.Schema
        Schema of the ingested table.
    path : str
        The spec file, named in errors.

    Raises
    ------
    SpecError
        For a missing column, or a column whose type the expectation cannot evaluate.
    """
    declared = declared_columns(spec)
    for index, exp in enumerate(spec.expectations):
        needs = _NEEDS.get(exp.expectation)
        for col in column_args(exp.expectation, exp.args):
            if col in schema.names:
                kind = column_kind(schema.field(col).type)
            elif col in declared:
                kind = _DECLARED_KIND.get(spec.column_type(col) or "", "other")
                if spec.column_type(col) is None:
                    continue
            else:
                raise _error(
                    index, exp.expectation, f"column '{col}' does not exist",
                    f"use one of the table's columns: {', '.join(schema.names)}", path,
                )
            if needs and kind not in needs:
                raise _error(
                    index, exp.expectation,
                    f"cannot be evaluated on column '{col}' of type {kind}",
                    f"apply it to a {' or '.join(needs)} column", path,
                )
    validate_expectation_args(spec, path=path)
