"""Turn YAML and pydantic failures into one-line :class:`SpecError` messages.

Each message names the file and line (found by walking the YAML node tree),
the field path, what is wrong and how to fix it; unknown fields get the
nearest valid name (difflib) and the list of valid names.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from pipelines.errors import SpecError

__all__ = ["yaml_error", "spec_error_from_validation", "line_of", "suggest"]

#: pydantic's names of union members and validators in an error location
_TYPE_TAG = re.compile(r"^(?:[A-Z]\w*|[\w-]+\[.+\])$")


def suggest(word: str, choices: list[str]) -> str:
    """Return a ``did you mean`` hint listing the valid choices.

    Parameters
    ----------
    word : str
        What the user wrote.
    choices : list of str
        The valid names.

    Returns
    -------
    str
        ``"did you mean 'x'? valid: a, b, c"`` (without the guess when none is close).
    """
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    valid = ", ".join(sorted(choices))
    if close:
        return f"did you mean '{close[0]}'? valid: {valid}"
    return f"valid: {valid}"


def yaml_error(exc: Exception, path: str) -> SpecError:
    """Convert a PyYAML error into a :class:`SpecError` with line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = path if mark is None else f"{path}:{mark.line + 1}:{mark.column + 1}"
    return SpecError(
        f"YAML syntax error: {problem}",
        where=where,
        fix="correct the YAML at that line (indentation, quotes, ':' after keys)",
    )


def line_of(text: str | None, loc: tuple[Any, ...]) -> int | None:
    """Return the 1-based line of the YAML node at ``loc`` (or of its deepest parent).

    Parameters
    ----------
    text : str or None
        The YAML text.
    loc : tuple
        Keys and indices from the document root.

    Returns
    -------
    int or None
        The line number, or None when it cannot be found.
    """
    if text is None:
        return None
    import yaml

    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = key if part == loc[-1] else value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _unwrap(annotation: Any) -> list[Any]:
    """Return the model classes or containers an annotation may hold."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Return the pydantic models an annotation holds, looking into unions and containers."""
    out: list[type[BaseModel]] = []
    for cand in _unwrap(annotation):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            out.append(cand)
        elif typing.get_origin(cand) in (list, dict) and typing.get_args(cand):
            out.extend(_models_in(typing.get_args(cand)[-1]))
    return out


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    args = typing.get_args(field.annotation) if field else ()
    return str(args[0]) if args else None


def _model_at(
    model: type[BaseModel], loc: tuple[Any, ...], tags: tuple[str, ...] = ()
) -> type[BaseModel] | None:
    """Walk ``loc`` (field names; indices skipped) and return the model holding its last key."""
    current: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        holders = [m for m in current if part in _field_names(m)]
        if not holders:
            return None
        field = next(f for n, f in holders[0].model_fields.items() if part in (n, f.alias))
        current = _models_in(field.annotation)
        tagged = [m for m in current if _tag_of(m) in tags]
        current = tagged or current
    return current[0] if len(current) == 1 else None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _all_tags(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Collect every discriminator tag (``kind`` value) of the models below ``model``."""
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    tags = {t for t in [_tag_of(model)] if t}
    for field in model.model_fields.values():
        for sub in _models_in(field.annotation):
            tags |= _all_tags(sub, seen)
    return tags


def _clean_loc(
    loc: tuple[Any, ...], model: type[BaseModel]
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Split pydantic's union-member tags (e.g. 'score_column') out of a location."""
    known = _all_tags(model)
    out: list[Any] = []
    tags: list[str] = []
    for i, part in enumerate(loc):
        after_index = i > 0 and isinstance(loc[i - 1], int) and part in known
        if isinstance(part, str) and (after_index or _TYPE_TAG.match(part)):
            tags.append(part)
            continue
        out.append(part)
    if not out:  # a key that only looks like a tag (e.g. "1["): keep the location as given
        return loc, ()
    return tuple(out), tuple(tags)


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def spec_error_from_validation(
    exc: ValidationError, model: type[BaseModel], *, path: str, text: str | None
) -> SpecError:
    """Convert the first pydantic error into a one-line :class:`SpecError`.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The validation failure.
    model : type
        The root model (for valid field names).
    path : str
        Spec file name.
    text : str or None
        YAML text, to locate the line.

    Returns
    -------
    SpecError
        The error to raise.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc, tags = _clean_loc(tuple(err["loc"]), model)
    kind = err["type"]
    line = line_of(text, loc)
    where = f"{path}:{line}" if line else path
    field = _dotted(loc)
    if kind == "extra_forbidden":
        parent = _model_at(model, loc, tags)
        names = _field_names(parent) if parent else []
        fix = suggest(str(loc[-1]), names) if names else "remove the field"
        return SpecError(f"unknown field '{field}'", where=where, fix=fix)
    if kind == "missing":
        return SpecError(
            f"missing required field '{field}'", where=where, fix=f"add '{loc[-1]}:' to the spec"
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        ctx = err.get("ctx", {})
        expected = ctx.get("expected_tags", "")
        return SpecError(
            f"field '{field}': unknown kind {ctx.get('tag', '')!r}".rstrip(),
            where=where,
            fix=f"use one of {expected}",
        )
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    message = err["msg"].removeprefix("Value error, ")
    return SpecError(
        f"field '{field}' is invalid ({message}); got {shown}",
        where=where,
        fix="see datasets_spec/schema.json for the expected form",
    )
