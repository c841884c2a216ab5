"""Coverage: intersection cells, small cells and maximal uncovered patterns.

Asudeh, Jin and Jagadish, "Assessing and Remedying Coverage for a Given
Dataset" (ICDE 2019). A *pattern* over the sensitive features fixes some of
them to a value and leaves the others free (``*``); its coverage is the
number of rows that match it. A pattern is *uncovered* when its coverage is
below a threshold ``tau``; a *maximal uncovered pattern* (MUP) is an
uncovered pattern whose parents -- the patterns obtained by freeing one of
its fixed features -- are all covered. The MUPs are the most general
descriptions of who is missing: every uncovered pattern specialises one.

Here the patterns are evaluated exhaustively over the joint count table of
the sensitive features (``prod(levels + 1)`` patterns, one array operation
per feature), which is exact and fast for the handful of low-cardinality
features a benchmark declares; the paper's pattern-walk algorithms matter
for dozens of attributes. Missing values (``"(missing)"``) count towards
patterns that leave their feature free but are never a pattern value.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from audits._encode import MISSING

__all__ = ["WILDCARD", "MAX_PATTERNS", "maximal_uncovered_patterns", "cells_report"]

WILDCARD = "*"
#: Largest number of patterns evaluated exhaustively.
MAX_PATTERNS = 5_000_000
_MAX_LISTED = 500


def _extended(table: np.ndarray) -> np.ndarray:
    """Append a wildcard slice (the sum over the axis) at the end of every axis."""
    ext = np.asarray(table, dtype=np.float64)
    for axis in range(ext.ndim):
        ext = np.concatenate([ext, ext.sum(axis=axis, keepdims=True)], axis=axis)
    return ext


def _valid_mask(levels: Sequence[Sequence[str]]) -> np.ndarray:
    """Return True where a pattern names no ``(missing)`` value."""
    mask = np.ones([len(lv) + 1 for lv in levels], dtype=bool)
    for axis, lv in enumerate(levels):
        bad = [i for i, x in enumerate(lv) if x == MISSING]
        if bad:
            index: list[Any] = [slice(None)] * len(levels)
            index[axis] = bad
            mask[tuple(index)] = False
    return mask


def maximal_uncovered_patterns(
    table: np.ndarray, features: Sequence[str], levels: Sequence[Sequence[str]], threshold: int
) -> dict[str, Any]:
    """Find the maximal uncovered patterns of a joint count table.

    Parameters
    ----------
    table : numpy.ndarray
        Row counts, one axis per feature (shape ``len(levels[i])``).
    features : sequence of str
        Feature names, one per axis.
    levels : sequence of sequence of str
        The values of each feature (declared categories included even when
        their count is 0, so that absent values are found).
    threshold : int
        A pattern with fewer rows than this is uncovered.

    Returns
    -------
    dict
        ``threshold``, ``features``, ``patterns_checked``, ``uncovered`` (count
        of uncovered patterns) and ``maximal_uncovered``: a list of
        ``{"pattern": {feature: value or "*"}, "label", "level", "n"}``, most
        general first (``level`` = number of fixed features); ``truncated`` when
        the list was cut at 500 entries. ``skipped`` with a reason when there
        are more than :data:`MAX_PATTERNS` patterns.
    """
    sizes = [len(lv) + 1 for lv in levels]
    total = int(np.prod(sizes))
    base = {"threshold": int(threshold), "features": list(features), "patterns_checked": total}
    if total > MAX_PATTERNS:
        return {**base, "skipped": f"{total} patterns exceed the limit of {MAX_PATTERNS}"}
    ext = _extended(table)
    covered = ext >= threshold
    valid = _valid_mask(levels)
    mup = ~covered & valid
    for axis, size in enumerate(sizes):
        parent_covered = np.take(covered, [size - 1], axis=axis)
        is_wild = np.zeros(size, dtype=bool)
        is_wild[-1] = True
        shape = [1] * len(sizes)
        shape[axis] = size
        mup &= parent_covered | is_wild.reshape(shape)
    found = []
    for idx in zip(*np.nonzero(mup), strict=False):
        pattern = {f: (WILDCARD if i == len(lv) else lv[i])
                   for f, lv, i in zip(features, levels, idx, strict=False)}
        fixed = [f"{f}={v}" for f, v in pattern.items() if v != WILDCARD]
        found.append({"pattern": pattern, "label": ", ".join(fixed) or "(all rows)",
                      "level": len(fixed), "n": int(ext[tuple(idx)])})
    found.sort(key=lambda m: (m["level"], m["n"], m["label"]))
    out = {**base, "uncovered": int((~covered & valid).sum()), "maximal_uncovered":
           found[:_MAX_LISTED]}
    if len(found) > _MAX_LISTED:
        out["truncated"] = len(found)
    return out


def cells_report(
    feature: str, levels: Sequence[Sequence[str]], table: np.ndarray, min_group_size: int
) -> dict[str, Any]:
    """List every cell of one intersection with its count, flagging small cells.

    Parameters
    ----------
    feature : str
        The intersection name (``"race&sex"``).
    levels : sequence of sequence of str
        Values of each member (declared categories included).
    table : numpy.ndarray
        Row counts, one axis per member.
    min_group_size : int
        Cells with fewer rows are listed under ``small``.

    Returns
    -------
    dict
        ``feature``, ``cells`` ([{"group", "n", "small"}]), ``small`` (labels of
        the small cells), ``empty`` (labels of cells with no row).
    """
    cells = []
    for idx in itertools.product(*[range(len(lv)) for lv in levels]):
        label = "&".join(lv[i] for lv, i in zip(levels, idx, strict=False))
        n = int(np.asarray(table)[idx])
        cells.append({"group": label, "n": n, "small": n < min_group_size})
    return {
        "feature": feature, "min_group_size": int(min_group_size), "cells": cells,
        "small": [c["group"] for c in cells if c["small"]],
        "empty": [c["group"] for c in cells if c["n"] == 0],
    }
