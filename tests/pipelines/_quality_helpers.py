"""Helpers shared by the quality-gate tests."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def put(table: pa.Table, column: str, rows: list[int], value: object) -> pa.Table:
    """Return ``table`` with ``value`` at ``rows`` of ``column`` (dictionary columns stay so)."""
    idx = table.schema.get_field_index(column)
    dtype = table.schema.field(column).type
    values = table[column].to_pylist()
    for r in rows:
        values[r] = value
    plain = dtype.value_type if pa.types.is_dictionary(dtype) else dtype
    arr = pa.array(values, type=plain)
    if pa.types.is_dictionary(dtype):
        arr = pc.dictionary_encode(arr)
    return table.set_column(idx, column, arr)
