"""pretty_json and canonical_json: the fast paths give exactly the reference bytes."""

from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines._json_indent import indent_compact
from pipelines.ledger_io import canonical_json, pretty_json


def _reference_jsonable(obj: Any) -> Any:
    """The original, obviously correct replacement walk."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): _reference_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_reference_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    return obj


def reference_pretty(obj: Any) -> bytes:
    text = json.dumps(_reference_jsonable(obj), sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False, default=str)
    return (text + "\n").encode("utf-8")


def reference_canonical(obj: Any) -> bytes:
    return json.dumps(_reference_jsonable(obj), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")


# Strings full of what could fool a scan for structure: quotes, backslashes, brackets,
# commas, colons, escapes, newlines and multi-byte characters.
_TRICKY = st.text(alphabet=st.sampled_from(list('"\\{}[],: \n\t\x00\x1fab\u00e9\u2028\U0001f600')),
                  max_size=12)
_KEYS = st.one_of(_TRICKY, st.text(max_size=6))
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), _TRICKY,
                     st.floats(allow_nan=True, allow_infinity=True))
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.tuples(children, children),
                               st.dictionaries(_KEYS, children, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_JSON)
def test_pretty_json_equals_the_python_encoder(obj) -> None:
    assert pretty_json(obj) == reference_pretty(obj)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_JSON)
def test_canonical_json_unchanged(obj) -> None:
    assert canonical_json(obj) == reference_canonical(obj)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_JSON, st.integers(min_value=1, max_value=9))
def test_indent_is_the_same_for_any_chunk_size(obj, chunk) -> None:
    compact = json.dumps(_reference_jsonable(obj), sort_keys=True, separators=(",", ": "),
                         ensure_ascii=False).encode("utf-8")
    assert indent_compact(compact, chunk=chunk) == reference_pretty(obj)[:-1]


@pytest.mark.parametrize("obj", [
    {}, [], {"a": {}}, {"a": []}, [[], {}, [[]]], [[[{}]]], "x", 1.5, None, {"": ""},
    {"k": 'say "hi" \\ [ok], {no}'}, ["\\", '\\"', '"\\'], {"a\\": ["\\\\\\"]},
])
def test_pretty_json_edge_cases(obj) -> None:
    for chunk in (1, 2, 3, 1000):
        compact = json.dumps(obj, sort_keys=True, separators=(",", ": "),
                             ensure_ascii=False).encode("utf-8")
        assert indent_compact(compact, chunk=chunk) == reference_pretty(obj)[:-1]
    assert pretty_json(obj) == reference_pretty(obj)


def test_replacements_of_unusual_types() -> None:
    obj = {1: np.float64("nan"), "p": PurePosixPath("a/b"), "path": Path("x/y"),
           "t": (1, float("inf"), -float("inf")), "n": np.int64(3), "f": np.float64(0.25),
           False: [np.bool_(True)], None: {2.5: "k"}, "s": type("S", (str,), {})("sub")}
    assert pretty_json(obj) == reference_pretty(obj)
    assert canonical_json(obj) == reference_canonical(obj)
