"""Logical content hashes of Arrow tables, independent of files and batching.

Why not hash the Parquet bytes or an Arrow IPC stream? Parquet bytes change
with the writer version, compression and page layout, and IPC bytes depend
on how the stream was chunked and on what happens to lie in the value slots
of null entries (Arrow leaves them undefined). A version id must depend on
the rows only, so every column is reduced to *canonical byte streams* that
are a pure function of the column's logical values, in row order:

``nulls``
    The global row numbers (int64, little-endian) of null entries; nothing
    is fed when a batch has no nulls.
``values`` (fixed-width types: integers, floats, temporal, decimals, ...)
    The little-endian value bytes, with null slots zeroed and every NaN
    replaced by the one canonical quiet NaN.
``lengths`` + ``data`` (strings and binaries, any offset width or view)
    int64 lengths (0 for nulls) and the concatenated value bytes.
``bits`` (booleans)
    One byte per row (0 or 1, nulls 0).
``json`` (anything else: nested, extension types)
    One canonical JSON line per value (slow path, per-row Python).

Each stream feeds its own ``hashlib.sha256``. Because feeding ``a`` then
``b`` to a hash equals feeding ``a + b``, the digest is the same however the
rows were split into record batches, without any re-batching or copy; the
work is one pass of sha256 over the column buffers (hashlib releases the
GIL, so columns hash in parallel threads). The split digest is the sha256
of the canonical JSON of the schema (names and type strings), row count and
the per-column stream digests, so a renamed column or a changed type
changes it even when the bytes agree.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ledger_io import canonical_json

__all__ = ["ContentHasher", "canonical_schema", "version_id", "VERSION_FORMAT"]

#: Format tag hashed into every version id.
VERSION_FORMAT = "fairledger.version/1"

_CANON_NAN64 = np.array([np.nan], dtype="<f8").view("<u8")[0]
_CANON_NAN32 = np.array([np.nan], dtype="<f4").view("<u4")[0]
_CANON_NAN16 = np.array([np.nan], dtype="<f2").view("<u2")[0]
_POOL: ThreadPoolExecutor | None = None


def canonical_schema(schema: pa.Schema) -> list[dict[str, str]]:
    """Return the schema as ``[{"name", "type"}]`` (no metadata, no nullability)."""
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def version_id(schema: list[dict[str, str]], splits: dict[str, dict[str, Any]],
               split_definition: dict[str, Any]) -> str:
    """Return the version id: sha256 of the canonical content manifest.

    Parameters
    ----------
    schema : list of dict
        :func:`canonical_schema` of the dataset.
    splits : dict
        ``{split: {"rows": int, "content_sha256": str, ...}}``; only ``rows``
        and ``content_sha256`` are hashed.
    split_definition : dict
        How rows were assigned to splits (method, seed, fraction, ...).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    doc = {
        "format": VERSION_FORMAT,
        "schema": schema,
        "splits": {k: {"rows": int(v["rows"]), "content_sha256": v["content_sha256"]}
                   for k, v in splits.items()},
        "split_definition": split_definition,
    }
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fairledger-hash")
    return _POOL


def _view(arr: np.ndarray) -> memoryview:
    """Return the bytes of an array as a memoryview (no copy when contiguous)."""
    return np.ascontiguousarray(arr).data


def _null_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _fixed_width_bytes(arr: pa.Array) -> memoryview | bytes:
    """Canonical little-endian value bytes of a fixed-width array."""
    width = arr.type.bit_width // 8
    buf = arr.buffers()[1]
    raw = np.frombuffer(buf, dtype=np.uint8)[arr.offset * width:(arr.offset + len(arr)) * width]
    is_float = pa.types.is_floating(arr.type)
    if arr.null_count == 0 and not is_float:
        return _view(raw)
    rows = raw.reshape(len(arr), width)
    if arr.null_count:
        rows = rows.copy()
        rows[_null_mask(arr)] = 0
    if is_float:
        uint = {8: "<u8", 4: "<u4", 2: "<u2"}[width]
        canon = {8: _CANON_NAN64, 4: _CANON_NAN32, 2: _CANON_NAN16}[width]
        fl = rows.reshape(-1).view(uint.replace("u", "f"))
        nan = np.isnan(fl)
        if nan.any():
            ints = rows.reshape(-1).view(uint).copy()
            ints[nan] = canon
            return _view(ints.view(np.uint8))
    return _view(np.ascontiguousarray(rows).reshape(-1))


def _binary_streams(arr: pa.Array) -> tuple[bytes | memoryview, bytes | memoryview]:
    """int64 lengths and concatenated bytes of a string/binary array."""
    if pa.types.is_string_view(arr.type) or pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    elif pa.types.is_binary_view(arr.type) or pa.types.is_binary(arr.type):
        arr = arr.cast(pa.large_binary())
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(b"" if pa.types.is_large_binary(arr.type) else "",
                                          arr.type))
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype="<i8")[arr.offset:arr.offset + len(arr) + 1]
    lengths = np.diff(offsets)
    if len(arr) == 0 or bufs[2] is None:
        return _view(lengths.view(np.uint8)), b""
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return _view(lengths.view(np.uint8)), _view(data)


class _ColumnHasher:
    """Canonical streams of one column, fed batch by batch."""

    def __init__(self, dtype: pa.DataType) -> None:
        self.dtype = dtype
        self.streams: dict[str, Any] = {"nulls": hashlib.sha256()}

    def _feed(self, name: str, data: bytes | memoryview) -> None:
        hasher = self.streams.get(name)
        if hasher is None:
            hasher = self.streams[name] = hashlib.sha256()
        hasher.update(data)

    def update(self, arr: pa.Array, start_row: int) -> None:
        if len(arr) == 0:
            return
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if arr.null_count:
            rows = np.flatnonzero(_null_mask(arr)).astype("<i8") + start_row
            self._feed("nulls", _view(rows.view(np.uint8)))
        t = arr.type
        if pa.types.is_null(t):
            return
        if pa.types.is_boolean(t):
            bits = np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), np.uint8)
            self._feed("bits", _view(bits))
        elif (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
              or pa.types.is_large_binary(t) or pa.types.is_string_view(t)
              or pa.types.is_binary_view(t)):
            lengths, data = _binary_streams(arr)
            self._feed("lengths", lengths)
            self._feed("data", data)
        elif _is_fixed_width(t):
            self._feed("values", _fixed_width_bytes(arr))
        else:
            lines = b"".join(canonical_json(v) + b"\n" for v in arr.to_pylist())
            self._feed("json", lines)

    def digests(self) -> dict[str, str]:
        return {k: h.hexdigest() for k, h in sorted(self.streams.items())}


def _is_fixed_width(t: pa.DataType) -> bool:
    try:
        width = t.bit_width
    except ValueError:
        return False
    return width % 8 == 0 and width > 0 and not pa.types.is_nested(t)


class ContentHasher:
    """Streaming logical hash of one split (see the module docstring).

    Parameters
    ----------
    schema : pyarrow.Schema
        The schema every batch must have.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows = 0
        self._columns = [_ColumnHasher(f.type) for f in schema]

    def update(self, batch: pa.RecordBatch) -> None:
        """Feed the next batch of rows (its schema must equal the hasher's)."""
        start = self.rows
        if len(self._columns) > 1 and batch.num_rows * len(self._columns) >= 1 << 16:
            jobs = [_pool().submit(c.update, batch.column(i), start)
                    for i, c in enumerate(self._columns)]
            for job in jobs:
                job.result()
        else:
            for i, col in enumerate(self._columns):
                col.update(batch.column(i), start)
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        """Return the content sha256 of all rows fed so far."""
        doc = {
            "schema": canonical_schema(self.schema),
            "rows": self.rows,
            "columns": [c.digests() for c in self._columns],
        }
        return hashlib.sha256(canonical_json(doc)).hexdigest()
