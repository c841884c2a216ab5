"""Ingest: a resolved source -> typed Arrow record batches, as the spec says.

Each raw batch (see :mod:`pipelines.readers`) goes through the same steps,
all vectorised with :mod:`pyarrow.compute`: strip whitespace and null out
missing tokens (when ``read.strip_whitespace``), rename, value maps, casts to
the declared column types, derived columns (bins, maps), and finally the
``keep`` selection. Batches stream one at a time, so a source larger than
memory can be ingested; the columns the spec refers to are checked against
the first batch before anything is yielded.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import DataError
from pipelines.readers import arrow_type, display_name, iter_raw_batches
from pipelines.sources import ResolvedSource, resolve_all
from pipelines.spec import DatasetSpec, DerivedBins, DerivedMap, FileSource

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "iter_batches",
    "transform_batch",
    "output_schema",
    "check_columns",
    "read_tables",
]

#: Rows per batch for Parquet, JSON and Hugging Face sources.
DEFAULT_BATCH_ROWS = 256_000
#: Bytes per CSV block when the spec leaves ``read.block_size`` at its default.
#: pyarrow's streaming CSV reader reads up to ~32 blocks ahead of a slower
#: consumer, so the block size, not the file size, sets the reader's memory:
#: about 70 MB at 2 MiB, against about 600 MB at the 16 MiB default.
STREAM_BLOCK_SIZE = 2 << 20


def _raw_types(spec: DatasetSpec) -> dict[str, pa.DataType]:
    """Return the Arrow types the reader can parse directly, keyed by raw column name."""
    inverse = {new: old for old, new in spec.rename.items()}
    out: dict[str, pa.DataType] = {}
    for final in spec.columns:
        ctype = spec.column_type(final)
        if final in spec.value_maps or ctype is None:
            continue
        out[inverse.get(final, final)] = arrow_type(ctype)
    return out


def iter_batches(
    spec: DatasetSpec, resolved: ResolvedSource, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Generator[pa.RecordBatch, None, None]:
    """Stream the typed batches of one resolved source.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    resolved : ResolvedSource
        A source returned by :func:`pipelines.sources.resolve_source`.
    batch_rows : int
        Rows per batch for Parquet, JSON and Hugging Face sources (CSV batches
        follow ``read.block_size``).

    Yields
    ------
    pyarrow.RecordBatch
        Renamed, value-mapped, typed batches with the derived columns.

    Raises
    ------
    DataError
        When a referenced column is absent, a row is malformed, a value does
        not fit its declared type, or the source has no rows.
    """
    source = resolved.source
    if isinstance(source, FileSource):
        assert resolved.path is not None
        name = display_name(source, resolved.path, resolved.origin)
        strip = source.read.strip_whitespace
        tokens = list(source.read.missing_values)
        raw = iter_raw_batches(_streaming(source), resolved.path, raw_types=_raw_types(spec),
                               batch_rows=batch_rows, name=name)
    else:
        from pipelines.hf_source import iter_hf_batches

        name, strip, tokens = source.repo_id, False, []
        raw = iter_hf_batches(resolved, batch_rows=batch_rows)
    first = True
    for batch in raw:
        if first:
            _check_raw(spec, batch.schema, name)
        out = transform_batch(spec, batch, strip=strip, missing=tokens, where=name)
        if first:
            check_columns(spec, out.schema)
            first = False
        yield out


def _streaming(source: FileSource) -> FileSource:
    """Read a CSV/ARFF source in :data:`STREAM_BLOCK_SIZE` blocks unless the spec sets one.

    The block size changes how rows are batched, never their values or order
    (so neither the split nor the version id). An explicit ``read.block_size``
    (e.g. for rows longer than 2 MiB) is kept as given.
    """
    read = source.read
    if source.format not in ("csv", "arff") or "block_size" in read.model_fields_set:
        return source
    smaller = min(read.block_size, STREAM_BLOCK_SIZE)
    return source.model_copy(update={"read": read.model_copy(update={"block_size": smaller})})


def transform_batch(
    spec: DatasetSpec,
    batch: pa.RecordBatch,
    *,
    strip: bool = False,
    missing: Sequence[str] = (),
    where: str = "",
) -> pa.RecordBatch:
    """Apply the spec's steps to one raw batch.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    batch : pyarrow.RecordBatch
        A raw batch, with the source's column names.
    strip : bool
        Trim whitespace around string values, then null out ``missing`` tokens.
    missing : sequence of str
        Missing-value tokens (used with ``strip``).
    where : str
        How the source is named in error messages.

    Returns
    -------
    pyarrow.RecordBatch
        The transformed batch.
    """
    cols: dict[str, pa.Array] = dict(zip(batch.schema.names, batch.columns, strict=True))
    if strip:
        cols = {k: _strip(v, missing) for k, v in cols.items()}
    cols = {spec.rename.get(k, k): v for k, v in cols.items()}
    for column, mapping in spec.value_maps.items():
        cols[column] = _recode(cols[column], mapping)
    for column in [c for c in spec.columns if c in cols]:
        cols[column] = _cast(cols[column], spec.column_type(column) or "string", column, where)
    for derived in spec.derived:
        made = _bins(cols[derived.from_], derived) if isinstance(derived, DerivedBins) else (
            _map(cols[derived.from_], derived))
        ctype = spec.column_type(derived.name)
        cols[derived.name] = _cast(made, ctype, derived.name, where) if ctype else made
    if spec.keep == "declared":
        wanted = set(_declared(spec))
        cols = {k: v for k, v in cols.items() if k in wanted}
    return pa.RecordBatch.from_arrays(list(cols.values()), names=list(cols))


def _strip(arr: pa.Array, missing: Sequence[str]) -> pa.Array:
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return arr
    trimmed = pc.utf8_trim_whitespace(arr)
    if not missing:
        return trimmed
    hit = pc.is_in(trimmed, value_set=pa.array(list(missing), type=arr.type))
    return pc.if_else(hit, pa.scalar(None, type=arr.type), trimmed)


def _as_string(arr: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_floating(arr.type):  # 1.0 -> "1" so that maps keyed "1" match
        whole = pc.equal(arr, pc.floor(arr))
        as_int = pc.cast(pc.if_else(whole, arr, None), pa.int64(), safe=False)
        return pc.coalesce(pc.cast(as_int, pa.string()), pc.cast(arr, pa.string()))
    return pc.cast(arr, pa.string())


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _recode(arr: pa.Array, mapping: dict[str, Any]) -> pa.Array:
    """Replace mapped values (compared as text); unmapped values stay as they are."""
    text = _as_string(arr)
    keys = pa.array(list(mapping), type=pa.string())
    idx = pc.index_in(text, value_set=keys)
    mapped = pc.take(pa.array([_scalar_text(v) for v in mapping.values()], pa.string()), idx)
    return pc.if_else(pc.is_null(idx), text, mapped)


_PARSE = re.compile(r"Failed to parse string: '(.*)' as a scalar of type (\w+)")


def _cast(arr: pa.Array, ctype: str, column: str, where: str) -> pa.Array:
    """Cast ``arr`` to the declared type; a value that does not fit is a DataError."""
    if ctype == "category":
        arr = _as_string(arr)
        return arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    target = arrow_type(ctype)
    if arr.type == target:
        return arr
    if ctype == "string":
        return _as_string(arr)
    try:
        return pc.cast(arr, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        text = str(exc).splitlines()[0]
        match = _PARSE.search(text)
        shown = repr(match.group(1)) if match else f"({text})"
        raise DataError(
            f"column '{column}' has value {shown}, which is not a valid {ctype}",
            where=where,
            fix=f"change columns.{column} in the spec, add the value to read.missing_values, "
            "or map it in value_maps",
        ) from None


def _bins(arr: pa.Array, spec: DerivedBins) -> pa.Array:
    """Label each value with its bin: ``[a, b)`` unless ``right`` (then ``(a, b]``)."""
    values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    edges = np.asarray(spec.edges, dtype=np.float64)
    idx = np.searchsorted(edges, values, side="left" if spec.right else "right") - 1
    valid = (idx >= 0) & (idx < len(spec.labels)) & ~np.isnan(values)
    indices = pa.array(np.where(valid, idx, 0), type=pa.int32(), mask=~valid)
    return pc.take(pa.array(spec.labels, type=pa.string()), indices)


def _map(arr: pa.Array, spec: DerivedMap) -> pa.Array:
    """Map the values of ``arr`` (compared as text); unmapped values get ``default``."""
    values = pa.array(list(spec.mapping.values()))
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    idx = pc.index_in(_as_string(arr), value_set=pa.array(list(spec.mapping), pa.string()))
    out = pc.take(values, idx)
    if spec.default is not None:
        out = pc.if_else(pc.is_null(idx), pa.scalar(spec.default).cast(values.type), out)
    return out


def _declared(spec: DatasetSpec) -> list[str]:
    names = [*spec.rename.values(), *spec.value_maps, *spec.columns,
             *(d.name for d in spec.derived), spec.label.column,
             *spec.sensitive_columns, *spec.split.stratify]
    if spec.id_column:
        names.append(spec.id_column)
    return list(dict.fromkeys(names))


def _absent(field: str, column: str, existing: Sequence[str], where: str) -> DataError:
    return DataError(
        f"{field} names column '{column}', which is not in the data",
        where=where,
        fix=f"use one of the columns that exist: {', '.join(existing)}",
    )


def _check_raw(spec: DatasetSpec, schema: pa.Schema, where: str) -> None:
    """Check that renames, value maps, declared and derived columns find their inputs."""
    raw = list(schema.names)
    for old in spec.rename:
        if old not in raw:
            raise _absent(f"rename.{old}", old, raw, where)
    names = [spec.rename.get(n, n) for n in raw]
    for column in spec.value_maps:
        if column not in names:
            raise _absent(f"value_maps.{column}", column, names, where)
    for column in spec.columns:
        if column not in names and column not in {d.name for d in spec.derived}:
            raise _absent(f"columns.{column}", column, names, where)
    for i, derived in enumerate(spec.derived):
        if derived.from_ not in names:
            raise _absent(f"derived[{i}].from", derived.from_, names, where)
        names.append(derived.name)


def check_columns(spec: DatasetSpec, schema: pa.Schema, *, where: str | None = None) -> None:
    """Check that the label, sensitive, id and stratify columns exist in ``schema``.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    schema : pyarrow.Schema
        The schema of the ingested (transformed) data.
    where : str, optional
        How the data is named in the message (default: the spec name).

    Raises
    ------
    DataError
        Naming the spec field and listing the columns that exist.
    """
    existing = list(schema.names)
    refs = [("label.column", spec.label.column)]
    refs += [(f"sensitive[{i}].column", s.column) for i, s in enumerate(spec.sensitive)]
    if spec.id_column:
        refs.append(("id_column", spec.id_column))
    refs += [(f"split.stratify[{i}]", c) for i, c in enumerate(spec.split.stratify)]
    for field, column in refs:
        if column not in existing:
            raise _absent(field, column, existing, where or f"spec '{spec.name}'")


def output_schema(spec: DatasetSpec, resolved: ResolvedSource) -> pa.Schema:
    """Return the schema of the batches :func:`iter_batches` yields (reads one batch)."""
    batches = iter_batches(spec, resolved)
    try:
        return next(batches).schema
    finally:
        batches.close()


def read_tables(
    spec: DatasetSpec, home: Path, *, mirrors: Sequence[Path | str] | None = None
) -> dict[str, pa.Table]:
    """Resolve and ingest every source into whole tables (a convenience for small data).

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    home : pathlib.Path
        The ledger folder (download cache).
    mirrors : sequence of path, optional
        Mirror folders (default ``$FAIRLEDGER_MIRROR``).

    Returns
    -------
    dict of str to pyarrow.Table
        One table per source role, or ``{"all": table}`` for a single unsplit
        source; splitting by fraction is :mod:`pipelines.splits`' job.
    """
    out: dict[str, pa.Table] = {}
    for resolved in resolve_all(spec, home=home, mirrors=mirrors):
        role = resolved.source.role if spec.split.kind == "roles" else None
        out[role or "all"] = pa.Table.from_batches(list(iter_batches(spec, resolved)))
    return out
