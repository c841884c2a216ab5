"""The Great Expectations expectations a spec may name, and their arguments.

:data:`CATALOG` maps each expectation GX Core registers to its required and
optional arguments. It is a static copy so that a spec with an unknown
expectation or argument is rejected in milliseconds, without importing
Great Expectations (which costs seconds). :func:`gx_catalog` rebuilds it
from GX's registry; ``tests/pipelines/test_quality_catalog.py`` checks that
the two agree, so the copy cannot drift from the installed GX. Regenerate
with ``python -m pipelines.quality_catalog``.
"""

from __future__ import annotations

__all__ = ["CATALOG", "BASE_FIELDS", "PANDAS_UNSUPPORTED", "gx_catalog", "render_catalog"]

#: Fields every GX expectation has that are not arguments a spec may set.
BASE_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "meta",
        "notes",
        "result_format",
        "description",
        "catch_exceptions",
        "rendered_content",
        "severity",
        "windows",
        "batch_id",
    }
)

#: Registered expectations the pandas backend cannot evaluate (SQL only).
PANDAS_UNSUPPORTED: frozenset[str] = frozenset(
    {
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_match_like_pattern_list",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern_list",
        "expect_query_results_to_match_comparison",
        "expect_table_row_count_to_equal_other_table",
        "unexpected_rows_expectation",
    }
)

# name -> (required arguments, optional arguments); generated from GX 1.24.
CATALOG: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "expect_column_distinct_values_to_be_in_set": (
        ("column", "value_set"),
        ("row_condition", "condition_parser"),
    ),
    "expect_column_distinct_values_to_contain_set": (
        ("column", "value_set"),
        ("row_condition", "condition_parser"),
    ),
    "expect_column_distinct_values_to_equal_set": (
        ("column", "value_set"),
        ("row_condition", "condition_parser"),
    ),
    "expect_column_kl_divergence_to_be_less_than": (
        ("column",),
        (
            "row_condition",
            "condition_parser",
            "partition_object",
            "threshold",
            "internal_weight_holdout",
            "tail_weight_holdout",
            "bucketize_data",
            "min_value",
            "max_value",
        ),
    ),
    "expect_column_max_to_be_between": (
        ("column",),
        ("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    ),
    "expect_column_mean_to_be_between": (
        ("column",),
        ("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    ),
    "expect_column_median_to_be_between": (
        ("column",),
        ("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    ),
    "expect_column_min_to_be_between": (
        ("column",),
        ("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    ),
    "expect_column_most_common_value_to_be_in_set": (
        ("column", "value_set"),
        ("row_condition", "condition_parser", "ties_okay"),
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": (
        ("column_A", "column_B"),
        ("mostly", "row_condition", "condition_parser", "or_equal", "ignore_row_if"),
    ),
    "expect_column_pair_values_to_be_equal": (
        ("column_A", "column_B"),
        ("mostly", "row_condition", "condition_parser", "ignore_row_if"),
    ),
    "expect_column_pair_values_to_be_in_set": (
        ("column_A", "column_B", "value_pairs_set"),
        ("mostly", "row_condition", "condition_parser", "ignore_row_if"),
    ),
    "expect_column_proportion_of_non_null_values_to_be_between": (
        ("column",),
        (
            "row_condition",
            "condition_parser",
            "min_value",
            "max_value",
            "strict_min",
            "strict_max",
            "library_metadata",
        ),
    ),
    "expect_column_proportion_of_unique_values_to_be_between": (
        ("column",),
        (
            "row_condition",
            "condition_parser",
            "min_value",
            "max_value",
            "strict_min",
            "strict_max",
            "library_metadata",
        ),
    ),
    "expect_column_quantile_values_to_be_between": (
        ("column", "quantile_ranges"),
        ("row_condition", "condition_parser", "allow_relative_error"),
    ),
    "expect_column_stdev_to_be_between": (
        ("column",),
        ("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    ),
    "expect_column_sum_to_be_between": (
        ("column",),
        ("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    ),
    "expect_column_to_exist": (("column",), ("column_index",)),
    "expect_column_type_to_be": (("column", "type_"), ()),
    "expect_column_unique_value_count_to_be_between": (
        ("column",),
        (
            "row_condition",
            "condition_parser",
            "min_value",
            "max_value",
            "strict_min",
            "strict_max",
            "library_metadata",
        ),
    ),
    "expect_column_value_lengths_to_be_between": (
        ("column",),
        (
            "mostly",
            "row_condition",
            "condition_parser",
            "min_value",
            "max_value",
            "strict_min",
            "strict_max",
        ),
    ),
    "expect_column_value_lengths_to_equal": (
        ("column", "value"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_value_z_scores_to_be_less_than": (
        ("column", "threshold", "double_sided"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_be_between": (
        ("column",),
        (
            "mostly",
            "row_condition",
            "condition_parser",
            "min_value",
            "max_value",
            "strict_min",
            "strict_max",
        ),
    ),
    "expect_column_values_to_be_dateutil_parseable": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "library_metadata"),
    ),
    "expect_column_values_to_be_decreasing": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "strictly", "library_metadata"),
    ),
    "expect_column_values_to_be_in_set": (
        ("column", "value_set"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_be_in_type_list": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "type_list"),
    ),
    "expect_column_values_to_be_increasing": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "strictly", "library_metadata"),
    ),
    "expect_column_values_to_be_json_parseable": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "library_metadata"),
    ),
    "expect_column_values_to_be_null": (
        ("column",),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_be_of_type": (
        ("column", "type_"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_be_unique": (
        ("column",),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_match_json_schema": (
        ("column", "json_schema"),
        ("mostly", "row_condition", "condition_parser", "library_metadata"),
    ),
    "expect_column_values_to_match_like_pattern": (
        ("column", "like_pattern"),
        ("mostly", "row_condition", "condition_parser", "escape"),
    ),
    "expect_column_values_to_match_like_pattern_list": (
        ("column", "like_pattern_list"),
        ("mostly", "row_condition", "condition_parser", "match_on", "escape"),
    ),
    "expect_column_values_to_match_regex": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "regex"),
    ),
    "expect_column_values_to_match_regex_list": (
        ("column", "regex_list"),
        ("mostly", "row_condition", "condition_parser", "match_on"),
    ),
    "expect_column_values_to_match_strftime_format": (
        ("column", "strftime_format"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_not_be_in_set": (
        ("column", "value_set"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_not_be_null": (
        ("column",),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_not_be_outliers": (
        ("column",),
        ("mostly", "row_condition", "condition_parser", "method", "multiplier"),
    ),
    "expect_column_values_to_not_match_like_pattern": (
        ("column", "like_pattern"),
        ("mostly", "row_condition", "condition_parser", "escape"),
    ),
    "expect_column_values_to_not_match_like_pattern_list": (
        ("column", "like_pattern_list"),
        ("mostly", "row_condition", "condition_parser", "escape"),
    ),
    "expect_column_values_to_not_match_regex": (
        ("column", "regex"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_column_values_to_not_match_regex_list": (
        ("column", "regex_list"),
        ("mostly", "row_condition", "condition_parser"),
    ),
    "expect_compound_columns_to_be_unique": (
        ("column_list",),
        ("mostly", "row_condition", "condition_parser", "ignore_row_if"),
    ),
    "expect_multicolumn_sum_to_equal": (
        ("column_list", "sum_total"),
        ("mostly", "row_condition", "condition_parser", "ignore_row_if"),
    ),
    "expect_multicolumn_values_to_be_equal": (
        ("column_list",),
        ("mostly", "row_condition", "condition_parser", "ignore_row_if"),
    ),
    "expect_query_results_to_match_comparison": (
        ("base_query", "comparison_data_source_name", "comparison_query"),
        ("mostly",),
    ),
    "expect_select_column_values_to_be_unique_within_record": (
        ("column_list",),
        ("mostly", "row_condition", "condition_parser", "ignore_row_if"),
    ),
    "expect_table_column_count_to_be_between": ((), ("min_value", "max_value")),
    "expect_table_column_count_to_equal": (("value",), ()),
    "expect_table_columns_to_match_ordered_list": ((), ("column_list",)),
    "expect_table_columns_to_match_set": ((), ("column_set", "exact_match")),
    "expect_table_row_count_to_be_between": (
        (),
        ("min_value", "max_value", "strict_min", "strict_max", "row_condition", "condition_parser"),
    ),
    "expect_table_row_count_to_equal": (("value",), ("row_condition", "condition_parser")),
    "expect_table_row_count_to_equal_other_table": (
        ("other_table_name",),
        ("row_condition", "condition_parser"),
    ),
    "unexpected_rows_expectation": (("unexpected_rows_query",), ()),
}


def gx_catalog() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Build the catalog from the installed Great Expectations registry.

    Returns
    -------
    dict
        Expectation name -> (required argument names, optional argument names).
    """
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for name in sorted(list_registered_expectation_implementations()):
        fields = get_expectation_impl(name).__fields__
        args = [(k, f.required) for k, f in fields.items() if k not in BASE_FIELDS]
        out[name] = (tuple(k for k, r in args if r), tuple(k for k, r in args if not r))
    return out


def render_catalog() -> str:
    """Return the Python text of :data:`CATALOG` rebuilt from the installed GX."""
    lines = [f"    {name!r}: ({req!r}, {opt!r})," for name, (req, opt) in gx_catalog().items()]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - regenerate the literal above
    print(render_catalog())
