"""Spec-level checks of expectations: names, arguments, columns, types (exact messages)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.errors import SpecError
from pipelines.quality_catalog import CATALOG, gx_catalog
from pipelines.quality_spec import check_against_schema, validate_expectation_specs
from pipelines.spec import parse_spec

BASE = {
    "name": "toy",
    "title": "toy",
    "license": "x",
    "citation": "x",
    "sources": [{"url": "file:///toy.csv", "sha256": "0" * 64}],
    "columns": {"id": "int64", "age": "int64", "race": "category", "y": "int64", "note": "string"},
    "label": {"column": "y", "positive": [1], "values": [0, 1]},
    "sensitive": [{"column": "race", "categories": ["a", "b"]}],
    "id_column": "id",
}
SCHEMA = pa.schema(
    [("id", pa.int64()), ("age", pa.int64()), ("race", pa.dictionary(pa.int32(), pa.string())),
     ("y", pa.int64()), ("note", pa.string())]
)


def spec_with(*expectations: dict) -> object:
    return parse_spec({**BASE, "expectations": list(expectations)})


def test_catalog_matches_installed_great_expectations() -> None:
    assert CATALOG == gx_catalog()


@pytest.mark.parametrize(
    ("expectation", "line"),
    [
        (
            {"expectation": "expect_column_values_to_be_betwen", "args": {"column": "age"}},
            "toy.yaml: expectations[0] expect_column_values_to_be_betwen: unknown expectation; "
            "fix: did you mean expect_column_values_to_be_between or "
            "expect_column_value_lengths_to_be_between or expect_column_values_to_be_in_set?",
        ),
        (
            {"expectation": "expect_nothing_at_all", "args": {}},
            "toy.yaml: expectations[0] expect_nothing_at_all: unknown expectation; fix: use a "
            "Great Expectations Core expectation name, e.g. expect_column_values_to_be_between, "
            "expect_column_values_to_be_in_set",
        ),
        (
            {"expectation": "expect_column_values_to_be_between",
             "args": {"column": "age", "min": 1}},
            "toy.yaml: expectations[0] expect_column_values_to_be_between: unknown argument "
            "'min'; fix: did you mean 'min_value'? valid arguments: column, mostly, row_condition, "
            "condition_parser, min_value, max_value, strict_min, strict_max",
        ),
        (
            {"expectation": "expect_column_values_to_be_in_set", "args": {"column": "race"}},
            "toy.yaml: expectations[0] expect_column_values_to_be_in_set: missing argument "
            "'value_set'; fix: add args.value_set (required: column, value_set)",
        ),
        (
            {"expectation": "expect_column_values_to_match_like_pattern",
             "args": {"column": "note", "like_pattern": "a%"}},
            "toy.yaml: expectations[0] expect_column_values_to_match_like_pattern: cannot be "
            "evaluated on the pandas backend (SQL only); fix: use an expectation the pandas "
            "backend supports, e.g. a regex one",
        ),
    ],
)
def test_names_and_arguments_are_checked_without_data(expectation: dict, line: str) -> None:
    spec = spec_with(expectation)
    with pytest.raises(SpecError) as info:
        validate_expectation_specs(spec, path="toy.yaml")
    assert info.value.line() == line
    assert info.value.exit_code == 2


def test_index_counts_from_zero_over_the_spec_list() -> None:
    ok = {"expectation": "expect_column_values_to_not_be_null", "args": {"column": "age"}}
    bad = {"expectation": "expect_column_values_to_be_unique", "args": {"colum": "id"}}
    with pytest.raises(SpecError, match=r"^toy.yaml: expectations\[2\] "):
        validate_expectation_specs(spec_with(ok, ok, bad), path="toy.yaml")


@pytest.mark.parametrize(
    ("expectation", "line"),
    [
        (
            {"expectation": "expect_column_values_to_be_between",
             "args": {"column": "agee", "min_value": 0}},
            "toy.yaml: expectations[0] expect_column_values_to_be_between: column 'agee' does "
            "not exist; fix: use one of the table's columns: id, age, race, y, note",
        ),
        (
            {"expectation": "expect_column_mean_to_be_between",
             "args": {"column": "race", "min_value": 0}},
            "toy.yaml: expectations[0] expect_column_mean_to_be_between: cannot be evaluated on "
            "column 'race' of type string; fix: apply it to a numeric column",
        ),
        (
            {"expectation": "expect_column_values_to_match_regex",
             "args": {"column": "age", "regex": "^1"}},
            "toy.yaml: expectations[0] expect_column_values_to_match_regex: cannot be evaluated "
            "on column 'age' of type numeric; fix: apply it to a string column",
        ),
        (
            {"expectation": "expect_column_pair_values_a_to_be_greater_than_b",
             "args": {"column_A": "age", "column_B": "note"}},
            "toy.yaml: expectations[0] expect_column_pair_values_a_to_be_greater_than_b: cannot "
            "be evaluated on column 'note' of type string; fix: apply it to a numeric or "
            "temporal column",
        ),
        (
            {"expectation": "expect_column_values_to_be_between",
             "args": {"column": "age", "min_value": "ten"}},
            "toy.yaml: expectations[0] expect_column_values_to_be_between: argument "
            "'min_value': value is not a valid float; or value is not a valid dict; or invalid "
            "date format; or invalid datetime format; fix: correct args.min_value",
        ),
        (
            {"expectation": "expect_column_values_to_be_between", "args": {"column": "age"}},
            "toy.yaml: expectations[0] expect_column_values_to_be_between: min_value and "
            "max_value cannot both be None; fix: correct the arguments as the message says",
        ),
    ],
)
def test_schema_and_values_are_checked_before_validation(expectation: dict, line: str) -> None:
    spec = spec_with(expectation)
    validate_expectation_specs(spec, path="toy.yaml")
    with pytest.raises(SpecError) as info:
        check_against_schema(spec, SCHEMA, path="toy.yaml")
    assert info.value.line() == line


def test_declared_column_missing_from_data_is_left_to_the_gate() -> None:
    spec = spec_with(
        {"expectation": "expect_column_values_to_be_between",
         "args": {"column": "age", "min_value": 0, "max_value": 120}}
    )
    check_against_schema(spec, SCHEMA.remove(SCHEMA.get_field_index("age")), path="toy.yaml")


def test_valid_spec_passes_every_stage() -> None:
    spec = spec_with(
        {"expectation": "expect_column_values_to_be_between",
         "args": {"column": "age", "min_value": 0, "max_value": 120, "mostly": 0.9}},
        {"expectation": "expect_column_values_to_be_in_set",
         "args": {"column": "race", "value_set": ["a", "b"]}, "severity": "warn"},
    )
    validate_expectation_specs(spec, path="toy.yaml")
    check_against_schema(spec, SCHEMA, path="toy.yaml")
