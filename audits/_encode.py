"""Encode Arrow columns to integer codes: sensitive groups, binary outcomes, classes.

Codes are append-only: a value keeps the code it first received, so counts
accumulated over earlier batches stay valid when later batches bring new
groups. Labels are made deterministic only at the end (:func:`group_order`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import DataError

__all__ = [
    "MISSING",
    "Dictionary",
    "BinaryColumn",
    "group_order",
    "label_of",
    "sort_key",
]

#: The group label of missing sensitive values (never dropped).
MISSING = "(missing)"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def label_of(value: Any) -> str:
    """Return the group label of a sensitive value (``"(missing)"`` for null or NaN)."""
    return MISSING if _is_missing(value) else str(value)


def sort_key(label: str) -> tuple[int, float, str]:
    """Order group labels: numbers numerically, then text, ``(missing)`` last."""
    if label == MISSING:
        return (2, 0.0, "")
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def group_order(labels: list[str]) -> np.ndarray:
    """Return the permutation that sorts ``labels`` by :func:`sort_key`."""
    return np.array(sorted(range(len(labels)), key=lambda i: sort_key(labels[i])), dtype=np.int64)


class Dictionary:
    """A growing map from group label to integer code, shared across batches."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self._codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def code(self, label: str) -> int:
        """Return the code of ``label``, adding it when new."""
        found = self._codes.get(label)
        if found is None:
            found = len(self.labels)
            self._codes[label] = found
            self.labels.append(label)
        return found

    def encode(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Return the int64 codes of every value of ``column`` (nulls -> ``(missing)``)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        values = column.dictionary.to_pylist()
        lut = np.empty(len(values) + 1, dtype=np.int64)
        for i, value in enumerate(values):
            lut[i] = self.code(label_of(value))
        indices = column.indices
        if indices.null_count:
            lut[len(values)] = self.code(MISSING)
            indices = pc.fill_null(indices, len(values))
        return lut[indices.to_numpy(zero_copy_only=False)]


def _values_text(values: list[Any]) -> str:
    shown = sorted({repr(v) for v in values})
    return ", ".join(shown[:6]) + (", ..." if len(shown) > 6 else "")


class BinaryColumn:
    """Turn a label or prediction column into 0/1, checking it is binary.

    Parameters
    ----------
    name : str
        The column name (used in error messages).
    pos_label : object, optional
        The positive value. Without it, values must be booleans or from {0, 1}
        (fairlearn's convention; ``-1``/``1`` is also accepted, 1 positive).
    """

    def __init__(self, name: str, pos_label: Any = None) -> None:
        self.name = name
        self.pos_label = pos_label
        self.nulls = 0
        self.rows = 0
        self.seen: set[Any] = set()

    def _check(self, values: list[Any]) -> None:
        self.seen.update(values)
        if len(self.seen) > 2:
            raise DataError(
                f"column '{self.name}' is not binary: found values {_values_text(list(self.seen))}",
                where=self.name,
                fix="pass a column with two values (0/1 or booleans), or audit it as multiclass",
            )
        if self.pos_label is None and not self.seen <= {0, 1, -1}:
            raise DataError(
                f"column '{self.name}' has values {_values_text(list(self.seen))}, "
                "not 0/1 or booleans",
                where=self.name,
                fix="pass --pos-label (pos_label=) naming the positive value",
            )

    def _positive(self, column: pa.Array) -> pa.Scalar:
        pos = 1 if self.pos_label is None else self.pos_label
        try:
            return pa.scalar(pos).cast(column.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.scalar(str(pos)).cast(column.type)

    def encode(self, column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(values, valid)``: 0/1 int64 values and a validity mask (None if no nulls)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        self.rows += len(column)
        valid = None
        if column.null_count:
            self.nulls += column.null_count
            valid = column.is_valid().to_numpy(zero_copy_only=False)
        if pa.types.is_null(column.type):
            return np.zeros(len(column), dtype=np.int64), np.zeros(len(column), dtype=bool)
        if pa.types.is_boolean(column.type) and self.pos_label is None:
            out = pc.fill_null(column, False)
        else:
            self._check(pc.unique(column.drop_null()).to_pylist())
            out = pc.fill_null(pc.equal(column, self._positive(column)), False)
        return out.to_numpy(zero_copy_only=False).astype(np.int64), valid

    def finish(self) -> None:
        """Raise when the column was all null or had nulls.

        Raises
        ------
        DataError
            One line naming the column and the number of null values.
        """
        if self.rows and self.nulls == self.rows:
            raise DataError(
                f"column '{self.name}' is all null",
                where=self.name,
                fix="pass the column that holds the values",
            )
        if self.nulls:
            raise DataError(
                f"column '{self.name}' has {self.nulls} null values",
                where=self.name,
                fix="drop or fill the rows with a missing value before auditing",
            )
