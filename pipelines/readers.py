"""Raw readers: a verified source file -> a stream of Arrow record batches.

CSV is streamed with :func:`pyarrow.csv.open_csv`, one block at a time, so a
file larger than memory can be read; declared column types are parsed by
Arrow directly and every other column is read as a string, so that a later
block can never fail type inference. Parquet streams row groups; JSON (lines)
and ARFF are read with the same machinery where they can be. Every failure
becomes a one-line :class:`~pipelines.errors.DataError` naming the file, the
line or column and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.errors import DataError
from pipelines.spec import FileSource, ReadOptions

__all__ = ["arrow_type", "iter_raw_batches", "csv_null_values", "display_name"]

_ARROW_TYPES: dict[str, Callable[[], pa.DataType]] = {
    "int64": pa.int64,
    "float64": pa.float64,
    "string": pa.string,
    "bool": pa.bool_,
    "category": pa.string,
    "date": pa.date32,
    "timestamp": lambda: pa.timestamp("us"),
}


def arrow_type(column_type: str) -> pa.DataType:
    """Return the Arrow type a spec column type is parsed as (category reads as string)."""
    return _ARROW_TYPES[column_type]()


def display_name(source: FileSource, path: Path, origin: str) -> str:
    """Return how a file is named in messages: its path, or its file name when cached."""
    return str(path) if origin in ("mirror", "local") else source.mirror_name


def csv_null_values(read: ReadOptions) -> list[str]:
    """Return the missing-value tokens, padded with spaces when whitespace is stripped."""
    tokens = list(read.missing_values)
    if read.strip_whitespace:
        tokens += [v for t in read.missing_values for v in (f" {t}", f"{t} ", f" {t} ")]
    return list(dict.fromkeys(tokens))


def iter_raw_batches(
    source: FileSource,
    path: Path,
    *,
    raw_types: dict[str, pa.DataType],
    batch_rows: int,
    name: str,
) -> Iterator[pa.RecordBatch]:
    """Yield the record batches of a source file as read (before renames and maps).

    Parameters
    ----------
    source : FileSource
        The spec's source entry (format and read options).
    path : pathlib.Path
        The verified local file.
    raw_types : dict
        Arrow type per raw column name for columns parsed directly; other
        CSV columns are read as strings.
    batch_rows : int
        Target rows per batch (Parquet, JSON; CSV batches follow the block size).
    name : str
        How the file is named in error messages.

    Yields
    ------
    pyarrow.RecordBatch
        Raw batches.
    """
    if source.format == "csv":
        yield from _csv_batches(path, source.read, raw_types, name)
    elif source.format == "parquet":
        yield from _parquet_batches(path, batch_rows, name)
    elif source.format == "json":
        yield from _json_batches(path, batch_rows, name)
    else:
        yield from _arff_batches(path, source.read, raw_types, name)


def _read_options(read: ReadOptions, names: list[str] | None, skip: int, **kw: Any) -> Any:
    skip_rows = skip + (1 if read.header and names else 0)
    return pacsv.ReadOptions(
        skip_rows=skip_rows, column_names=names, encoding=read.encoding, **kw
    )


def _header_names(path: Path, read: ReadOptions, skip: int, name: str) -> list[str]:
    """Return the column names of a CSV: given, or read from its header line."""
    if read.column_names:
        return list(read.column_names)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=_read_options(read, None, skip, block_size=1 << 16),
            parse_options=pacsv.ParseOptions(
                delimiter=read.delimiter, invalid_row_handler=lambda _row: "skip"
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _csv_error(exc, name) from None
    try:
        names = list(reader.schema.names)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the header is not valid {read.encoding} text ({exc.reason} at byte {exc.start})",
            where=name,
            fix="set read.encoding to the file's encoding (e.g. latin-1 or utf-16)",
        ) from None
    finally:
        reader.close()
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise DataError(
            f"duplicate column names in the header: {', '.join(dups)}",
            where=name,
            fix="give read.column_names (with header: true) naming every column once",
        )
    return names


def _csv_batches(
    path: Path,
    read: ReadOptions,
    raw_types: dict[str, pa.DataType],
    name: str,
    skip: int | None = None,
) -> Iterator[pa.RecordBatch]:
    skip = read.skip_rows if skip is None else skip
    names = _header_names(path, read, skip, name)
    bad: list[Any] = []

    def on_invalid(row: Any) -> str:
        bad.append(row)
        return "skip"

    parse = pacsv.ParseOptions(delimiter=read.delimiter, invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(
        column_types={n: raw_types.get(n, pa.string()) for n in names},
        null_values=csv_null_values(read),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    options = _read_options(read, names if read.column_names else None, skip,
                            block_size=read.block_size)
    rows = 0
    try:
        reader = pacsv.open_csv(path, read_options=options, parse_options=parse,
                                convert_options=convert)
        for batch in reader:
            if bad:
                break
            rows += batch.num_rows
            yield batch
    except pa.ArrowInvalid as exc:
        raise _csv_error(exc, name, names) from None
    if bad:
        raise _malformed(bad[0], path, read, options, convert, name)
    if rows == 0:
        raise _empty(name)


def _empty(name: str) -> DataError:
    return DataError(
        "the source has no data rows",
        where=name,
        fix="check the file, read.skip_rows and read.header in the spec",
    )


def _malformed(
    row: Any, path: Path, read: ReadOptions, options: Any, convert: Any, name: str
) -> DataError:
    """Describe a row with the wrong number of fields, finding its line if needed."""
    number = row.number
    if number is None:  # threaded parsing does not number rows: rescan serially
        found: list[Any] = []

        def handler(r: Any) -> str:
            found.append(r)
            return "error" if r.number is not None else "skip"

        serial = pacsv.ReadOptions(
            skip_rows=options.skip_rows, column_names=options.column_names,
            encoding=read.encoding, block_size=read.block_size, use_threads=False,
        )
        parse = pacsv.ParseOptions(delimiter=read.delimiter, invalid_row_handler=handler)
        try:
            for _ in pacsv.open_csv(path, read_options=serial, parse_options=parse,
                                    convert_options=convert):
                if found:
                    break
        except pa.ArrowInvalid:
            pass
        number = found[0].number if found else None
    where = f"{name}:{number}" if number is not None else name
    return DataError(
        f"malformed CSV row: expected {row.expected_columns} fields, found "
        f"{row.actual_columns}",
        where=where,
        fix=f"repair that line, or check read.delimiter ({read.delimiter!r}), read.header "
        "and read.skip_rows in the spec",
    )


_CONVERSION = re.compile(
    r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'"
)


def _csv_error(exc: pa.ArrowInvalid, name: str, names: list[str] | None = None) -> DataError:
    text = str(exc).splitlines()[0]
    if text.startswith("Empty CSV file"):
        return _empty(name)
    match = _CONVERSION.search(text)
    if match:
        index, typ, value = match.groups()
        column = names[int(index)] if names and int(index) < len(names) else f"#{index}"
        return DataError(
            f"column '{column}' has value {value!r}, which is not a valid {typ}",
            where=name,
            fix=f"declare it with another type in 'columns', or add {value!r} to "
            "read.missing_values",
        )
    return DataError(f"cannot parse the CSV ({text})", where=name,
                     fix="check read.delimiter, read.encoding and quoting in the spec")


def _parquet_batches(path: Path, batch_rows: int, name: str) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"cannot read the Parquet file ({str(exc).splitlines()[0]})",
                        where=name, fix="check that the source is Parquet (format:)") from None
    if pf.metadata.num_rows == 0:
        raise _empty(name)
    yield from pf.iter_batches(batch_size=batch_rows)


def _json_batches(path: Path, batch_rows: int, name: str) -> Iterator[pa.RecordBatch]:
    import pyarrow.json as pajson

    try:
        table = pajson.read_json(path)
    except pa.ArrowInvalid as exc:
        raise DataError(f"cannot parse the JSON lines ({str(exc).splitlines()[0]})",
                        where=name, fix="the source must hold one JSON object per line") from None
    if table.num_rows == 0:
        raise _empty(name)
    yield from table.to_batches(max_chunksize=batch_rows)


_ARFF_TYPES = {"numeric": pa.float64(), "real": pa.float64(), "integer": pa.int64()}


def _arff_batches(
    path: Path, read: ReadOptions, raw_types: dict[str, pa.DataType], name: str
) -> Iterator[pa.RecordBatch]:
    """Read an ARFF file: attributes from its header, data through the CSV reader."""
    names: list[str] = []
    types: dict[str, pa.DataType] = {}
    number = 0
    with open(path, encoding=read.encoding, errors="replace") as fh:
        for line in fh:
            number += 1
            stripped = line.strip()
            low = stripped.lower()
            if low.startswith("@attribute"):
                parts = stripped.split(None, 2)
                attr = parts[1].strip("'\"")
                names.append(attr)
                kind = parts[2].strip().lower() if len(parts) > 2 else "string"
                types[attr] = _ARFF_TYPES.get(kind, pa.string())
            elif low.startswith("@data"):
                break
        else:
            raise DataError("ARFF file has no @data section", where=name,
                            fix="check that the source is ARFF (format:)")
    options = read.model_copy(update={"header": False, "column_names": names,
                                      "missing_values": [*read.missing_values, "?"]})
    yield from _csv_batches(path, options, {**types, **raw_types}, name, skip=number)
