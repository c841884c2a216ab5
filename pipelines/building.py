"""The steps of a dataset build, as plain functions the build flow calls.

resolve (sources) -> stream every source's typed batches through the
splitter into a :class:`~pipelines.store.Staging` folder -> (quality gate,
dataset audit) -> publish. Nothing here imports Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.spec import DatasetSpec

__all__ = [
    "split_definition",
    "stream_into",
    "source_records",
    "spec_dir",
    "code_digest",
    "build_key",
    "unchanged_build",
    "remember_build",
]


def split_definition(spec: DatasetSpec) -> dict[str, Any]:
    """Describe how rows are split; hashed into the version id.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.

    Returns
    -------
    dict
        ``{"kind": "all"}``, ``{"kind": "roles", "roles": [...]}`` or the
        random splitter's own definition (method, fraction, seed, strata).
    """
    kind = spec.split.kind
    if kind == "all":
        return {"kind": "all"}
    if kind == "roles":
        return {"kind": "roles", "roles": [s.role for s in spec.sources]}
    from pipelines.splits import StreamSplitter

    splitter = StreamSplitter(
        test_fraction=spec.split.test_fraction, seed=spec.split.seed, stratify=spec.split.stratify
    )
    return {"kind": "random", **splitter.split_definition()}


def _write_split(staging: Any, batch: pa.RecordBatch, test: np.ndarray) -> None:
    """Write the rows of ``batch`` to ``train`` and ``test`` by the boolean mask."""
    mask = pa.array(test, type=pa.bool_())
    if test.any():
        staging.write_batch("test", batch.filter(mask))
    if not test.all():
        staging.write_batch("train", batch.filter(pa.compute.invert(mask)))


def stream_into(
    spec: DatasetSpec, resolved: Sequence[Any], staging: Any, *, batch_rows: int | None = None
) -> dict[str, int]:
    """Ingest every resolved source and write its rows to the staging splits.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    resolved : sequence of ResolvedSource
        The verified sources, in spec order.
    staging : pipelines.store.Staging
        Where the split Parquet files are written.
    batch_rows : int, optional
        Rows per record batch (the ingest default when None).

    Returns
    -------
    dict
        Rows written per split.
    """
    import pyarrow.compute  # noqa: F401  (pa.compute used by _write_split)

    from pipelines.progress import step

    rows: dict[str, int] = {}
    splitter = None
    if spec.split.kind == "random":
        from pipelines.splits import StreamSplitter

        splitter = StreamSplitter(
            test_fraction=spec.split.test_fraction,
            seed=spec.split.seed,
            stratify=spec.split.stratify,
        )
    kwargs = {} if batch_rows is None else {"batch_rows": batch_rows}
    for res in resolved:
        role = res.source.role or "all"
        with step(f"ingest {spec.name} ({res.source.role or 'all rows'})") as advance:
            _stream_source(spec, res, staging, splitter, role, rows, advance, kwargs)
    return rows


def _stream_source(
    spec: DatasetSpec,
    res: Any,
    staging: Any,
    splitter: Any,
    role: str,
    rows: dict[str, int],
    advance: Any,
    kwargs: dict[str, Any],
) -> None:
    """Stream one source's batches into the staging splits, counting rows."""
    from pipelines.ingest import iter_batches

    for batch in iter_batches(spec, res, **kwargs):
        advance(batch.num_rows)
        if batch.num_rows == 0:
            continue
        if splitter is None:
            name = "all" if spec.split.kind == "all" else role
            staging.write_batch(name, batch)
            rows[name] = rows.get(name, 0) + batch.num_rows
            continue
        test = splitter.assign(batch)
        _write_split(staging, batch, test)
        n_test = int(test.sum())
        rows["test"] = rows.get("test", 0) + n_test
        rows["train"] = rows.get("train", 0) + batch.num_rows - n_test


def source_records(resolved: Sequence[Any]) -> list[dict[str, Any]]:
    """Return the manifest's ``sources`` entries (fingerprints) of resolved sources."""
    out = []
    for res in resolved:
        record = dict(res.fingerprint)
        record.setdefault("sha256", res.sha256)
        record.setdefault("origin", res.origin)
        if res.source.role:
            record.setdefault("role", res.source.role)
        out.append(record)
    return out


def spec_dir(spec_path: str | Path) -> Path:
    """Return the folder relative paths of a spec are resolved against."""
    return Path(spec_path).resolve().parent


def code_digest(
    packages: Sequence[str] = ("pipelines", "audits"), pattern: str = "*.py"
) -> str:
    """Return the sha256 of the files (``pattern``) of the packages that shape an output."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted(p for p in (root / package).rglob(pattern) if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_key(spec: DatasetSpec, resolved: Sequence[Any]) -> str:
    """Return what determines a build: source bytes, spec and code.

    Two builds with the same key produce the same version (and the same
    quality and audit files), so a rebuild whose key equals the latest
    version's can stop before ingesting anything.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    resolved : sequence of ResolvedSource
        The verified sources.

    Returns
    -------
    str
        Hex sha256.
    """
    import hashlib

    from pipelines.spec import spec_digest
    from pipelines.store import canonical_json

    parts = {
        "sources": [res.sha256 for res in resolved],
        "spec": spec_digest(spec),
        "code": code_digest(),
    }
    return hashlib.sha256(canonical_json(parts)).hexdigest()


def _key_file(home: Path, name: str, key: str) -> Path:
    return Path(home) / "cache" / "builds" / name / f"{key}.json"


def remember_build(home: Path, name: str, key: str, version: str) -> None:
    """Record that build ``key`` gave ``version`` (a cache, outside the versions)."""
    from pipelines.store import atomic_write_bytes, canonical_json

    path = _key_file(home, name, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, canonical_json({"build_key": key, "version": version}))


def unchanged_build(home: Path, spec: DatasetSpec, key: str) -> dict[str, Any] | None:
    """Return the latest version's summary when build ``key`` gave it, else None.

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder.
    spec : DatasetSpec
        The dataset spec.
    key : str
        The :func:`build_key` of this build.

    Returns
    -------
    dict or None
        The build summary (``status="unchanged"``, ``reused=True``), or None
        when the key is unknown or its version is not the latest any more.
    """
    import json

    from pipelines.errors import FairledgerError
    from pipelines.store import read_manifest

    try:
        known = json.loads(_key_file(home, spec.name, key).read_bytes())["version"]
        manifest = read_manifest(home, spec.name, None)
    except (OSError, ValueError, KeyError, FairledgerError):
        return None
    if manifest.get("version") != known:
        return None
    return {
        "name": spec.name,
        "version": manifest["version"],
        "status": "unchanged",
        "rows": {k: int(v["rows"]) for k, v in manifest["splits"].items()},
        "previous": manifest["lineage"]["previous"],
        "path": str(Path(home) / "datasets" / spec.name / manifest["version"]),
        "reused": True,
    }
