"""Spec loading errors (exact one-line messages), fuzzing, and the generated JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.errors import SpecError
from pipelines.spec import DatasetSpec, json_schema, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "datasets_spec"
GERMAN = (SPECS / "german_credit.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, start: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(start))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "nope.yaml")
    assert str(err.value) == (
        f"{tmp_path / 'nope.yaml'}: spec file not found; "
        "fix: check the path (specs live in datasets_spec/*.yaml)"
    )
    assert err.value.exit_code == 2


def test_yaml_syntax_error_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: toy\ntitle: Toy\nlicense: [CC0\nsensitive: x\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value) == (
        f"{path}:4:10: YAML syntax error: expected ',' or ']', but got ':'; "
        "fix: correct the YAML at that line (indentation, quotes, ':' after keys)"
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "guess", "valid"),
    [
        ("label:", "lable:", "lable", "label",
         "citation, columns, datasheet, derived, description, expectations, homepage, "
         "id_column, intersections, keep, label, license, models, name, reference, rename, "
         "row_count, schedule, sensitive, sources, split, thresholds, title, value_maps"),
        ('      delimiter: " "', '      delimter: " "', "sources[0].read.delimter", "delimiter",
         "block_size, column_names, delimiter, encoding, header, member, missing_values, "
         "skip_rows, strip_whitespace"),
    ],
)
def test_unknown_field_suggests_nearest(
    tmp_path: Path, old: str, new: str, field: str, guess: str, valid: str
) -> None:
    text = GERMAN.replace("\n" + old, "\n" + new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    line = _line(text, new)
    assert str(err.value) == (
        f"{path}:{line}: unknown field '{field}'; fix: did you mean '{guess}'? valid: {valid}"
    )


def test_wrong_type_of_a_field(tmp_path: Path) -> None:
    text = GERMAN.replace("  seed: 0", "  seed: zero", 1)
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value) == (
        f"{path}:{_line(text, '  seed: zero')}: field 'split.seed' is invalid (Input should be "
        "a valid integer, unable to parse string as an integer); got 'zero'; "
        "fix: see datasets_spec/schema.json for the expected form"
    )


def test_headerless_source_needs_column_names(tmp_path: Path) -> None:
    text = GERMAN.replace("      column_names:", "      column_namez:", 1)
    with pytest.raises(SpecError, match="unknown field 'sources\\[0\\].read.column_namez'"):
        load_spec(_write(tmp_path, text))


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8),
                     st.floats(allow_nan=True))
_keys = st.sampled_from(["name", "title", "license", "citation", "sources", "label",
                         "sensitive", "split", "columns", "derived", "read", "url", "sha256",
                         "column", "positive", "kind", "edges", "labels", "from", "x"])
_values: Any = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner,
                                                                          max_size=5),
    max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_values, st.dictionaries(_keys, _values, max_size=8)))
def test_fuzz_parse_spec_only_returns_a_spec_or_raises_spec_error(data: Any) -> None:
    try:
        assert isinstance(parse_spec(data, text=yaml.safe_dump(data)), DatasetSpec)
    except SpecError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab:- [{]}\n'\"#&*!|>%@`,1")), max_size=60))
def test_fuzz_yaml_text_only_raises_spec_error(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_spec(path)
    except SpecError as exc:
        assert "\n" not in str(exc)


def test_schema_json_is_current() -> None:
    stored = json.loads((SPECS / "schema.json").read_text(encoding="utf-8"))
    assert stored == json_schema(), (
        "datasets_spec/schema.json is stale: run "
        "`.venv/bin/python -m pipelines.spec > datasets_spec/schema.json`"
    )


@pytest.mark.parametrize("key", ["1[", "Name", "list[int]"])
def test_unknown_top_level_keys_that_look_like_type_tags(key: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({key: None})
    assert info.value.line().startswith(f"<spec>: unknown field '{key}'; fix: ")
