"""Proxies: how strongly each non-sensitive column is associated with a sensitive one.

A model that leaves out a sensitive feature can still use a proxy for it.
For every other column and every sensitive feature this module measures,
in one streaming pass over record batches:

* categorical columns (strings, booleans, dictionaries): Cramer's V,
  ``sqrt(chi2 / (n * (min(r, c) - 1)))`` of the contingency table (Cramer
  1946, "Mathematical Methods of Statistics", 21.9), in [0, 1];
* numeric columns (integers, floats, dates, timestamps): the correlation
  ratio eta, ``sqrt(SS_between / SS_total)`` of the column across the groups
  of the sensitive feature (Pearson 1905; Fisher 1925), in [0, 1], computed
  from per-group count, sum and sum of squares (values shifted by the first
  value seen, for numerical stability). Missing values are left out.

Both are 0 for independence and 1 for a perfect proxy. Missing sensitive
values form their own group; missing categorical values their own category.
Categorical columns with more than ``max_levels`` distinct values (names,
identifiers) are skipped with that reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audits._encode import Dictionary

__all__ = ["column_kind", "cramers_v", "correlation_ratio", "ProxyAccumulator"]


def column_kind(dtype: pa.DataType) -> str | None:
    """Return ``"categorical"``, ``"numeric"`` or None (unsupported) for an Arrow type."""
    if pa.types.is_dictionary(dtype) or pa.types.is_string(dtype) or pa.types.is_large_string(
        dtype
    ) or pa.types.is_boolean(dtype):
        return "categorical"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_temporal(dtype):
        return "numeric"
    return None


def _grow_add(acc: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Return ``acc + part`` after padding ``acc`` with zeros to ``part``'s shape."""
    if acc.shape != part.shape:
        acc = np.pad(acc, [(0, p - a) for a, p in zip(acc.shape, part.shape, strict=False)])
    return acc + part


def cramers_v(table: np.ndarray) -> float:
    """Return Cramer's V of a contingency table (empty rows and columns removed).

    Returns NaN when fewer than two rows or columns remain.
    """
    t = np.asarray(table, dtype=np.float64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape) < 2:
        return math.nan
    n = t.sum()
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    chi2 = float(np.sum((t - expected) ** 2 / expected))
    return math.sqrt(chi2 / (n * (min(t.shape) - 1)))


def correlation_ratio(n: np.ndarray, s: np.ndarray, ss: np.ndarray) -> float:
    """Return eta from per-group count ``n``, sum ``s`` and sum of squares ``ss``.

    Returns NaN when fewer than two groups have values or the column is constant.
    """
    n = np.asarray(n, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    ss = np.asarray(ss, dtype=np.float64)
    keep = n > 0
    total_n = n.sum()
    if keep.sum() < 2:
        return math.nan
    grand = s.sum() ** 2 / total_n
    ss_total = ss.sum() - grand
    ss_between = float(np.sum(s[keep] ** 2 / n[keep]) - grand)
    if ss_total <= 1e-12 * max(abs(ss.sum()), 1.0):
        return math.nan
    return math.sqrt(min(max(ss_between / ss_total, 0.0), 1.0))


class ProxyAccumulator:
    """Streaming association of columns with sensitive features.

    Parameters
    ----------
    columns : mapping of str to str
        Column name -> ``"categorical"`` or ``"numeric"``.
    sensitive : sequence of str
        Sensitive feature names (group codes are passed to :meth:`add`).
    max_levels : int
        Categorical columns with more distinct values are skipped.
    """

    def __init__(self, columns: Mapping[str, str], sensitive: Sequence[str],
                 max_levels: int = 100) -> None:
        self.kinds = dict(columns)
        self.sensitive = list(sensitive)
        self.max_levels = max_levels
        self.skipped: dict[str, str] = {}
        self._dicts = {c: Dictionary() for c, k in self.kinds.items() if k == "categorical"}
        self._tables: dict[tuple[str, str], np.ndarray] = {}
        self._shift: dict[str, float] = {}

    def _categorical(self, name: str, column: pa.Array, codes: Mapping[str, np.ndarray],
                     sizes: Mapping[str, int]) -> None:
        dictionary = self._dicts[name]
        col_codes = dictionary.encode(column)
        if len(dictionary) > self.max_levels:
            self.skipped[name] = (f"more than {self.max_levels} distinct values "
                                  "(an identifier or free text)")
            for s in self.sensitive:
                self._tables.pop((name, s), None)
            return
        rows = len(dictionary)
        for s in self.sensitive:
            flat = col_codes * sizes[s] + codes[s]
            part = np.bincount(flat, minlength=rows * sizes[s]).reshape(rows, sizes[s])
            self._tables[(name, s)] = _grow_add(self._tables.get((name, s), np.zeros((0, 0))),
                                                part)

    def _numeric(self, name: str, column: pa.Array, codes: Mapping[str, np.ndarray],
                 sizes: Mapping[str, int]) -> None:
        if pa.types.is_temporal(column.type):
            column = column.cast(pa.int64()) if not pa.types.is_date32(column.type) else (
                column.cast(pa.int32()).cast(pa.int64()))
        nulls = pc.is_null(column, nan_is_null=True)
        mask = np.asarray(pc.invert(nulls).to_numpy(zero_copy_only=False), dtype=bool)
        x = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)[mask]
        if x.size and name not in self._shift:
            self._shift[name] = float(x[0])
        x = x - self._shift.get(name, 0.0)
        for s in self.sensitive:
            g = codes[s][mask]
            part = np.stack([np.bincount(g, weights=w, minlength=sizes[s])
                             for w in (None, x, x * x)])
            self._tables[(name, s)] = _grow_add(self._tables.get((name, s), np.zeros((3, 0))),
                                                part)

    def add(self, batch: pa.RecordBatch, codes: Mapping[str, np.ndarray],
            sizes: Mapping[str, int]) -> None:
        """Add one batch, given the group codes of each sensitive feature and their sizes."""
        for name, kind in self.kinds.items():
            if name in self.skipped:
                continue
            column = batch.column(name)
            if kind == "categorical":
                self._categorical(name, column, codes, sizes)
            else:
                self._numeric(name, column, codes, sizes)

    def result(self) -> list[dict[str, Any]]:
        """Return one row per (column, sensitive feature), strongest first."""
        out: list[dict[str, Any]] = []
        for name, kind in self.kinds.items():
            if name in self.skipped:
                out.append({"column": name, "kind": kind, "skipped": self.skipped[name]})
                continue
            for s in self.sensitive:
                table = self._tables.get((name, s))
                if table is None:
                    continue
                if kind == "categorical":
                    value, measure = cramers_v(table), "cramers_v"
                else:
                    value, measure = correlation_ratio(*table), "correlation_ratio"
                out.append({"column": name, "kind": kind, "feature": s, "measure": measure,
                            "value": value})
        return sorted(out, key=lambda r: -np.nan_to_num(r.get("value", -1.0), nan=-1.0))
