"""Small helpers shared by the source and ingest tests: specs over local files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.ingest import iter_batches
from pipelines.sources import ResolvedSource, resolve_source
from pipelines.spec import DatasetSpec, parse_spec


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_spec(path: Path, **fields: Any) -> DatasetSpec:
    """A spec whose single source is the local file ``path`` (sha256 of its bytes)."""
    read = fields.pop("read", {})
    source = {"url": str(path), "sha256": sha(path.read_bytes()), "read": read,
              **fields.pop("source", {})}
    data: dict[str, Any] = {
        "name": "toy", "title": "Toy", "license": "CC0", "citation": "none",
        "sources": [source],
        "label": {"column": "y", "positive": [1]},
        "sensitive": [{"column": "g"}],
        "split": {"kind": "all"},
    }
    data.update(fields)
    return parse_spec(data)


def resolve(spec: DatasetSpec, home: Path, **kw: Any) -> ResolvedSource:
    return resolve_source(spec, spec.sources[0], home=home, mirrors=kw.pop("mirrors", []), **kw)


def ingest(spec: DatasetSpec, home: Path, **kw: Any) -> pa.Table:
    resolved = resolve(spec, home)
    return pa.Table.from_batches(list(iter_batches(spec, resolved, **kw)))


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path
