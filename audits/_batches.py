"""Stream Arrow record batches from a table, a frame, a reader or a file.

Every counting function in :mod:`audits` takes its input through
:func:`iter_batches`, so a pandas frame, a pyarrow table, an iterable of
record batches, a Parquet file and a CSV file are all read the same way:
batch by batch, only the needed columns, never the whole file at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.errors import DataError

__all__ = ["iter_batches", "DEFAULT_BATCH_SIZE", "PARQUET_SUFFIXES", "CSV_SUFFIXES"]

#: Rows per record batch when the source does not fix it.
DEFAULT_BATCH_SIZE = 1 << 20
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)


def _missing_column(name: str, available: Sequence[str], where: str) -> DataError:
    shown = ", ".join(available[:20]) + (", ..." if len(available) > 20 else "")
    return DataError(
        f"column '{name}' not found",
        where=where,
        fix=f"use one of the columns: {shown}",
    )


def _check_columns(schema: pa.Schema, columns: Sequence[str], where: str) -> None:
    for name in columns:
        if schema.get_field_index(name) < 0:
            raise _missing_column(name, schema.names, where)


def _from_path(
    path: Path, columns: Sequence[str], batch_size: int, dictionary: Sequence[str]
) -> Iterator[pa.RecordBatch]:
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in PARQUET_SUFFIXES + CSV_SUFFIXES:
        raise DataError(
            f"'{path.name}' is not a CSV or Parquet file",
            where=where,
            fix="pass a file ending in .csv, .parquet or .pq",
        )
    if not path.is_file():
        raise DataError("file not found", where=where, fix="check the path")
    if suffix in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        _check_columns(schema, columns, where)
        # no pre-buffering: it keeps every column chunk read until the file closes
        pf = pq.ParquetFile(path, read_dictionary=[c for c in dictionary if c in schema.names],
                            pre_buffer=False)
        yield from pf.iter_batches(batch_size=batch_size, columns=list(columns))
        return
    from pyarrow import csv

    # small blocks: the streaming reader reads up to ~32 blocks ahead of its consumer
    reader = csv.open_csv(path, read_options=csv.ReadOptions(block_size=1 << 21))
    _check_columns(reader.schema, columns, where)
    for batch in reader:
        yield batch.select(list(columns))


def _from_object(source: Any, batch_size: int) -> Iterable[pa.RecordBatch]:
    if isinstance(source, pa.Table):
        return source.to_batches(max_chunksize=batch_size)
    if isinstance(source, pa.RecordBatch):
        return [source]
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        table = pa.Table.from_pandas(source, preserve_index=False)
        return table.to_batches(max_chunksize=batch_size)
    if isinstance(source, Iterable):
        return source
    raise DataError(
        f"cannot read predictions from a {type(source).__name__}",
        fix="pass a pyarrow Table, record batches, a pandas DataFrame or a CSV/Parquet path",
    )


def iter_batches(
    source: Any,
    columns: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dictionary: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    """Yield record batches of ``columns`` from ``source``, one at a time.

    Parameters
    ----------
    source : pyarrow.Table, pyarrow.RecordBatch, iterable of RecordBatch, pandas.DataFrame,
        str or pathlib.Path
        The data; a path must end in ``.csv``, ``.parquet`` or ``.pq``.
    columns : sequence of str
        Columns to read (checked before any row is read).
    batch_size : int
        Rows per batch when the source does not fix it.
    dictionary : sequence of str
        Columns to read dictionary-encoded from Parquet (faster grouping).

    Yields
    ------
    pyarrow.RecordBatch
        Batches holding exactly ``columns``.

    Raises
    ------
    DataError
        When the file type is not supported, the file is missing or a column is absent.
    """
    if isinstance(source, (str, Path)):
        yield from _from_path(Path(source), columns, batch_size, dictionary)
        return
    where = "input"
    for batch in _from_object(source, batch_size):
        if not isinstance(batch, pa.RecordBatch):
            raise DataError(
                f"cannot read predictions from an iterable of {type(batch).__name__}",
                fix="pass record batches, a pyarrow Table, a pandas DataFrame or a file path",
            )
        _check_columns(batch.schema, columns, where)
        yield batch.select(list(columns))
