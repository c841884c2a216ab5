"""Row chunks of the gate's input: Parquet splits or an in-memory Arrow table.

The gate never holds the whole table in memory: it reads the splits in chunks
of about ``chunk_rows`` rows (Parquet record batches, coalesced up to that
size), each conformed to the splits' unified schema, optionally restricted to
some columns. A source can be iterated any number of times.

Two pandas representations of a chunk:

* :func:`declared_frame` is the one the column-type expectations check
  (Arrow integers as nullable ``Int64``, booleans as ``boolean``; see
  :data:`pipelines.quality_suite.TYPE_NAMES`).
* :func:`to_frame` is the one every value check runs on. Its per-column
  choice is made once per source (:meth:`ParquetSource.value_kinds`, from the
  Parquet statistics, so that it is the same in every chunk) and keeps the
  values exact while letting GX take its vectorised paths (GX compares
  nullable ``Int64`` values one by one in Python): an integer column without
  nulls stays numpy ``int64``; one with nulls becomes ``float64`` with NaN
  for null when every value lies within +/-2**53 (exact); otherwise it stays
  ``Int64``. Dictionary columns become ``category`` and strings pandas'
  Arrow-backed ``str``, with no per-value copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MIN_AUTO_CHUNK_ROWS",
    "auto_chunk_rows",
    "EXACT_FLOAT_INT",
    "ValueKinds",
    "declared_frame",
    "TableSource",
    "ParquetSource",
    "to_frame",
    "pandas_dtype",
]

#: Largest chunk chosen automatically (bounds the gate's memory on any table).
DEFAULT_CHUNK_ROWS = 1 << 20
#: Smallest chunk chosen automatically (each GX run has a fixed cost).
MIN_AUTO_CHUNK_ROWS = 1 << 16
#: Integers up to this magnitude are exact in float64.
EXACT_FLOAT_INT = 2**53
#: Column -> "float64" (cast, nulls as NaN) or "nullable" (pandas Int64); others are native.
ValueKinds = dict[str, str]


def auto_chunk_rows(num_rows: int, chunk_rows: int | None = None) -> int:
    """Rows per chunk: ``chunk_rows`` if given, else a quarter of the table within bounds.

    A quarter keeps the gate's peak memory a fraction of the table's size;
    :data:`DEFAULT_CHUNK_ROWS` caps it for big tables and
    :data:`MIN_AUTO_CHUNK_ROWS` keeps GX's fixed per-run cost small.
    """
    if chunk_rows is not None:
        return max(1, int(chunk_rows))
    return min(DEFAULT_CHUNK_ROWS, max(MIN_AUTO_CHUNK_ROWS, -(-num_rows // 4)))


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


def declared_frame(table: pa.Table) -> Any:
    """Convert a chunk with the declared dtypes (what the column-type expectations check)."""
    return table.to_pandas(types_mapper=pandas_dtype, date_as_object=False, split_blocks=True)


def _bool_only(dtype: pa.DataType) -> Any:
    import pandas as pd

    return pd.BooleanDtype() if pa.types.is_boolean(dtype) else None


def to_frame(table: pa.Table, kinds: ValueKinds | None = None) -> Any:
    """Convert a chunk to the frame GX checks values on (exact values, vectorisable dtypes).

    Parameters
    ----------
    table : pyarrow.Table
        The chunk.
    kinds : dict, optional
        The source's :meth:`~ParquetSource.value_kinds`; without it every
        integer column with nulls is treated as ``"nullable"``.

    Returns
    -------
    pandas.DataFrame
    """
    kinds = dict(kinds or {})
    for i, f in enumerate(table.schema):
        if kinds.get(f.name) == "float64":
            table = table.set_column(i, f.name, table[f.name].cast(pa.float64()))
    frame = table.to_pandas(types_mapper=_bool_only, date_as_object=False, split_blocks=True)
    for f in table.schema:
        if pa.types.is_integer(f.type) and (
            kinds.get(f.name) == "nullable" or (f.name not in kinds and table[f.name].null_count)
        ):
            frame[f.name] = table[f.name].to_pandas(types_mapper=pandas_dtype)
    return frame


def _kind(nulls: int | None, low: Any, high: Any) -> str | None:
    """Choose the value representation of an integer column from its null count and range."""
    if nulls == 0:
        return None
    if nulls is None or low is None or high is None:
        return "nullable"
    return "float64" if max(abs(int(low)), abs(int(high))) <= EXACT_FLOAT_INT else "nullable"


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
    chunk_rows : int, optional
        Rows per chunk (default: :func:`auto_chunk_rows`).
    """

    def __init__(self, table: pa.Table, chunk_rows: int | None = None) -> None:
        self.table = table
        self.schema = pa.schema([f.remove_metadata() for f in table.schema])
        self.num_rows = table.num_rows
        self.chunk_rows = auto_chunk_rows(self.num_rows, chunk_rows)
        #: Where the gate may spill temporary files (None: the system temporary folder).
        self.spill_dir: Path | None = None

    def value_kinds(self) -> ValueKinds:
        """Integer column -> "float64" or "nullable" representation (see :func:`to_frame`)."""
        import pyarrow.compute as pc

        out: ValueKinds = {}
        for f in self.schema:
            if pa.types.is_integer(f.type):
                col = self.table[f.name]
                span = pc.min_max(col).as_py() if col.null_count < len(col) else {}
                kind = _kind(col.null_count, span.get("min", 0), span.get("max", 0))
                if kind:
                    out[f.name] = kind
        return out

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
    chunk_rows : int, optional
        Rows per chunk (record batches are coalesced up to this size; default:
        :func:`auto_chunk_rows`).
    """

    def __init__(self, split_paths: Mapping[str, Path], chunk_rows: int | None = None):
        import pyarrow.parquet as pq

        # pre_buffer=False: with pre-buffering, iter_batches keeps every column
        # chunk it has read cached until the file is closed (memory grows with
        # the file, ~20 MB per million rows of a narrow table).
        self.files = [pq.ParquetFile(split_paths[name], pre_buffer=False)
                      for name in sorted(split_paths)]
        #: Where the gate may spill temporary files: next to the split files.
        self.spill_dir: Path | None = (
            Path(split_paths[min(split_paths)]).parent if split_paths else None
        )
        schemas = [f.schema_arrow for f in self.files]
        unified = pa.unify_schemas(schemas, promote_options="permissive")
        self.schema = pa.schema([f.remove_metadata() for f in unified])
        self.num_rows = sum(f.metadata.num_rows for f in self.files)
        self.chunk_rows = auto_chunk_rows(self.num_rows, chunk_rows)

    def _stats(self, name: str) -> tuple[int | None, Any, Any]:
        """Null count, min and max of a column over every row group (None when unknown)."""
        nulls: int | None = 0
        lows, highs = [], []
        for file in self.files:
            meta = file.metadata
            if name not in file.schema_arrow.names:
                nulls = None if nulls is None else nulls + meta.num_rows
                continue
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                col = next(group.column(j) for j in range(group.num_columns)
                           if group.column(j).path_in_schema == name)
                stats = col.statistics
                if stats is None or not stats.has_null_count:
                    return None, None, None
                nulls = None if nulls is None else nulls + stats.null_count
                if not stats.has_min_max and stats.null_count < group.num_rows:
                    return None, None, None
                if stats.has_min_max:
                    lows.append(stats.min)
                    highs.append(stats.max)
        return nulls, min(lows, default=0), max(highs, default=0)

    def value_kinds(self) -> ValueKinds:
        """Integer column -> "float64" or "nullable" representation, from Parquet statistics."""
        out: ValueKinds = {}
        for f in self.schema:
            if pa.types.is_integer(f.type):
                kind = _kind(*self._stats(f.name))
                if kind:
                    out[f.name] = kind
        return out

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
