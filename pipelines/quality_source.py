"""Row chunks of the gate's input: Parquet splits or an in-memory Arrow table.

The gate never holds the whole table in memory: it reads the splits in chunks
of about ``chunk_rows`` rows (Parquet record batches, coalesced up to that
size), each conformed to the splits' unified schema, optionally restricted to
some columns. A source can be iterated any number of times.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "TableSource",
    "ParquetSource",
    "to_frame",
    "pandas_dtype",
]

#: Rows per chunk validated at once (bounds the gate's memory, not its result).
DEFAULT_CHUNK_ROWS = 1 << 20


def pandas_dtype(dtype: pa.DataType) -> Any:
    """Map Arrow integers to pandas nullable ``Int*``/``UInt*`` and booleans to ``boolean``.

    Other types keep pyarrow's default conversion: dictionaries become
    ``category`` (codes are not copied value by value), strings pandas' ``str``
    (Arrow-backed), dates and timestamps ``datetime64``.
    """
    import pandas as pd

    if pa.types.is_integer(dtype):
        prefix = "Int" if pa.types.is_signed_integer(dtype) else "UInt"
        return pd.api.types.pandas_dtype(f"{prefix}{dtype.bit_width}")
    if pa.types.is_boolean(dtype):
        return pd.BooleanDtype()
    return None


def to_frame(table: pa.Table) -> Any:
    """Convert one chunk to the pandas frame GX validates (see :func:`pandas_dtype`)."""
    return table.to_pandas(types_mapper=pandas_dtype, date_as_object=False, split_blocks=True)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Give ``table`` exactly ``schema``: cast differing types, add missing columns as nulls."""
    arrays = []
    for f in schema:
        if f.name in table.column_names:
            col = table[f.name]
            arrays.append(col if col.type == f.type else col.cast(f.type))
        else:
            arrays.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _select(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    if columns is None:
        return schema
    return pa.schema([schema.field(c) for c in columns])


class TableSource:
    """Chunks of an in-memory Arrow table (zero-copy slices).

    Parameters
    ----------
    table : pyarrow.Table
        The rows.
    chunk_rows : int
        Rows per chunk.
    """

    def __init__(self, table: pa.Table, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.table = table
        self.schema = pa.schema([f.remove_metadata() for f in table.schema])
        self.num_rows = table.num_rows
        self.chunk_rows = max(1, int(chunk_rows))

    def chunks(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """Yield consecutive chunks in row order (one empty chunk for an empty table)."""
        table = self.table if columns is None else self.table.select(list(columns))
        if table.num_rows == 0:
            yield _select(self.schema, columns).empty_table()
            return
        for start in range(0, table.num_rows, self.chunk_rows):
            yield table.slice(start, self.chunk_rows)


class ParquetSource:
    """Chunks of the Parquet files of every split, in split-name order.

    Parameters
    ----------
    split_paths : mapping of str to pathlib.Path
        Split name -> Parquet file.
    chunk_rows : int
        Rows per chunk (record batches are coalesced up to this size).
    """

    def __init__(self, split_paths: Mapping[str, Path], chunk_rows: int = DEFAULT_CHUNK_ROWS):
        import pyarrow.parquet as pq

        self.files = [pq.ParquetFile(split_paths[name]) for name in sorted(split_paths)]
        schemas = [f.schema_arrow for f in self.files]
        unified = pa.unify_schemas(schemas, promote_options="permissive")
        self.schema = pa.schema([f.remove_metadata() for f in unified])
        self.num_rows = sum(f.metadata.num_rows for f in self.files)
        self.chunk_rows = max(1, int(chunk_rows))

    def _batches(self, columns: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
        for file in self.files:
            have = file.schema_arrow.names
            wanted = have if columns is None else [c for c in columns if c in have]
            if file.metadata.num_rows == 0:
                continue
            yield from file.iter_batches(batch_size=self.chunk_rows, columns=wanted)

    def chunks(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """Yield chunks of about ``chunk_rows`` rows in row order, conformed to the schema."""
        schema = _select(self.schema, columns)
        pending: list[pa.RecordBatch] = []
        size = 0
        emitted = False
        for batch in self._batches(columns):
            pending.append(batch)
            size += batch.num_rows
            if size >= self.chunk_rows:
                yield pa.concat_tables(
                    [_conform(pa.Table.from_batches([b]), schema) for b in pending]
                )
                pending, size, emitted = [], 0, True
        if pending:
            yield pa.concat_tables([_conform(pa.Table.from_batches([b]), schema) for b in pending])
        elif not emitted:
            yield schema.empty_table()
