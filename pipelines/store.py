"""The ledger: immutable content-addressed dataset versions with atomic publish.

A build streams record batches into a :class:`Staging` folder on the same
filesystem as the final one (``staging/<name>/.staging-<pid>-<hex>/``; not
inside ``datasets/<name>/``, so that an unchanged rebuild does not even touch
that folder's timestamp). On
:meth:`Staging.publish` the version id is computed from the logical content
(see :mod:`pipelines.content_hash`); under the dataset's lock the ledger
either finds that version already there (``unchanged``: the staging folder
is discarded and nothing is written) or writes ``manifest.json`` into the
staging folder, fsyncs it, renames the folder into place and then replaces
``refs.json`` atomically. A crash at any instant leaves either no new
version or a whole one plus temporary entries that the next run removes.

The read side lives in :mod:`pipelines.ledger_read`, verification in
:mod:`pipelines.ledger_verify` and file primitives in
:mod:`pipelines.ledger_io`; all are re-exported here.
"""

from __future__ import annotations

import os
import platform
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.content_hash import ContentHasher, canonical_schema, version_id
from pipelines.errors import DataError, LedgerError
from pipelines.faults import fault_point
from pipelines.ledger_io import (
    atomic_write_bytes,
    canonical_json,
    check_name,
    clean_stale,
    dataset_lock,
    fsync_dir,
    make_readonly,
    pretty_json,
    sha256_file,
)
from pipelines.ledger_read import (
    dataset_dir,
    list_datasets,
    list_versions,
    read_manifest,
    read_refs,
    resolve_version,
    split_path,
    version_dir,
    version_ids,
)
from pipelines.ledger_verify import check_ledger, register_verifier, verify_ledger

__all__ = [
    "MANIFEST_FORMAT",
    "PublishResult",
    "Staging",
    "canonical_json",
    "atomic_write_bytes",
    "sha256_file",
    "dataset_lock",
    "list_datasets",
    "list_versions",
    "resolve_version",
    "version_dir",
    "read_manifest",
    "read_refs",
    "split_path",
    "verify_ledger",
    "check_ledger",
    "register_verifier",
    "ROW_GROUP_ROWS",
    "split_file_writer",
]

#: Format tag of ``manifest.json``.
MANIFEST_FORMAT = "fairledger.manifest/1"
#: Rows per Parquet row group of a split file.
ROW_GROUP_ROWS = 1 << 18


def split_file_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """Open a split file for writing, with the ledger's compression.

    LZ4 (the LZ4_RAW codec) rather than zstd: on 5 million rows of
    ``benchmarks/evaluate.py`` reading the model's columns back takes
    0.21 CPU-s instead of 0.44, for a file 10 % larger (289 vs 263 MiB), and
    evaluation reads every split it scores in full. The version id does
    not depend on this choice (it hashes logical content, not file bytes).
    """
    return pq.ParquetWriter(path, schema, compression="lz4")


@dataclass(frozen=True)
class PublishResult:
    """What :meth:`Staging.publish` did."""

    name: str
    version: str
    status: Literal["published", "unchanged"]
    path: Path
    rows: dict[str, int]
    previous: str | None


class _SplitWriter:
    """One split: a Parquet writer fed in row groups of 256 Ki rows, and its hash."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.hasher = ContentHasher(schema)
        self._writer = split_file_writer(path, schema)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.hasher.update(batch)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self.schema)
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            self._pending, self._pending_rows = [], 0
            fault_point("staging.after_row_group")

    def close(self) -> None:
        self._flush()
        self._writer.close()
        fault_point("staging.after_parquet_close")
        with open(self.path, "rb") as fh:
            os.fsync(fh.fileno())


def _packages() -> dict[str, str]:
    out = {"python": platform.python_version(), "pyarrow": pa.__version__}
    for dist in ("fairledger", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


class Staging:
    """A build in progress: a private folder that becomes a version on publish.

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder (created if missing).
    name : str
        The dataset name.

    Notes
    -----
    Use it as a context manager: leaving the block without a publish,
    quarantine or discard (e.g. on an exception) discards the folder. Stale
    staging folders of dead processes (the pid is in the folder name) are
    removed on construction, stale temporary files in the dataset folder at
    publish.
    """

    def __init__(self, home: Path, name: str) -> None:
        self.home = Path(home)
        self.name = check_name(name)
        folder = self.home / "staging" / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the staging folder ({exc.strerror})",
                              where=str(folder), fix="pass a writable --home") from None
        clean_stale(folder)
        self.path = folder / f".staging-{os.getpid()}-{uuid.uuid4().hex[:16]}"
        (self.path / "data").mkdir(parents=True)
        fault_point("staging.after_mkdir")
        self._schema: pa.Schema | None = None
        self._splits: dict[str, _SplitWriter] = {}
        self._files: dict[str, str] = {}
        self._closed = False
        self._done = False

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.discard()

    def write_batch(self, split: str, batch: pa.RecordBatch) -> None:
        """Append a record batch to a split (``data/<split>.parquet``).

        Raises
        ------
        DataError
            When the batch's schema differs from the first batch's.
        """
        if self._closed:
            raise LedgerError("staging is closed", where=str(self.path),
                              fix="write every batch before close_writers() or publish()")
        schema = batch.schema.remove_metadata()
        if self._schema is None:
            self._schema = schema
        elif not schema.equals(self._schema):
            raise DataError(
                f"batch schema differs from the first batch ({schema} vs {self._schema})",
                where=f"split {split}", fix="cast every batch to one schema before writing",
            )
        writer = self._splits.get(split)
        if writer is None:
            check_name(split)
            path = self.path / "data" / f"{split}.parquet"
            writer = self._splits[split] = _SplitWriter(path, self._schema)
        writer.write(batch.replace_schema_metadata(None))
        fault_point("staging.after_batch")

    def add_json(self, relpath: str, obj: Any) -> None:
        """Write a JSON document (e.g. ``quality.json``) that the manifest lists."""
        rel = Path(relpath)
        if rel.is_absolute() or ".." in rel.parts or rel.as_posix() in ("manifest.json",):
            raise LedgerError(f"invalid staged file name {relpath!r}", where="add_json",
                              fix="use a relative path such as 'quality.json'")
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pretty_json(obj)
        atomic_write_bytes(path, data)
        fault_point("staging.after_add_json")
        self._files[rel.as_posix()] = sha256_file(path)

    def add_tree(self, relpath: str) -> int:
        """List every file already written under ``relpath`` of the staging folder.

        For files a tool writes itself (e.g. Great Expectations Data Docs),
        so that the manifest covers them and ``verify`` checks them.

        Returns
        -------
        int
            The number of files added.
        """
        root = self.path / relpath
        if Path(relpath).is_absolute() or ".." in Path(relpath).parts or not root.is_dir():
            raise LedgerError(f"no staged folder {relpath!r}", where="add_tree",
                              fix="write the files into the staging folder first")
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            self._files[path.relative_to(self.path).as_posix()] = sha256_file(path)
        return len(files)

    def close_writers(self) -> dict[str, Path]:
        """Finish every Parquet file; return ``{split: path}`` (idempotent)."""
        if not self._closed:
            for writer in self._splits.values():
                writer.close()
            self._closed = True
            fault_point("staging.after_close_writers")
        return {k: w.path for k, w in self._splits.items()}

    def _content(self, split_definition: dict[str, Any]) -> tuple[str, list, dict]:
        schema = canonical_schema(self._schema) if self._schema is not None else []
        splits = {
            k: {"rows": w.hasher.rows, "content_sha256": w.hasher.hexdigest(),
                "file": f"data/{k}.parquet", "sha256": sha256_file(w.path),
                "bytes": w.path.stat().st_size}
            for k, w in sorted(self._splits.items())
        }
        return version_id(schema, splits, split_definition), schema, splits

    def publish(self, *, sources: list[dict], spec_digest: str, split_definition: dict,
                extra: dict | None = None, lock_timeout: float = 600.0) -> PublishResult:
        """Publish the staged content as a version (or find it already there).

        Parameters
        ----------
        sources : list of dict
            Source descriptions (name, sha256, ...), stored as given.
        spec_digest : str
            Digest of the dataset spec.
        split_definition : dict
            How rows were split (hashed into the version id).
        extra : dict, optional
            More manifest fields (not hashed into the id).
        lock_timeout : float
            Seconds to wait for the dataset lock.

        Returns
        -------
        PublishResult
            ``status="unchanged"`` when the version already existed.
        """
        self._require_open()
        self.close_writers()
        vid, schema, splits = self._content(split_definition)
        fault_point("publish.after_hash")
        rows = {k: int(v["rows"]) for k, v in splits.items()}
        final = version_dir(self.home, self.name, vid)
        fault_point("publish.before_lock")
        with dataset_lock(self.home, self.name, lock_timeout):
            fault_point("publish.locked")
            dataset_dir(self.home, self.name).mkdir(parents=True, exist_ok=True)
            clean_stale(dataset_dir(self.home, self.name))
            on_disk = read_refs(self.home, self.name)
            refs = self._reconciled_refs()
            if final.is_dir():
                fault_point("publish.unchanged_before_discard")
                self.discard()
                refs["latest"] = vid  # the same, or content went back to an older version
                if refs != on_disk:
                    self._write_refs(refs)
                previous = read_manifest(self.home, self.name, vid)["lineage"]["previous"]
                return PublishResult(self.name, vid, "unchanged", final, rows, previous)
            manifest = {
                "format": MANIFEST_FORMAT, "name": self.name, "version": vid,
                "schema": self._schema_doc(), "splits": splits,
                "files": dict(sorted(self._files.items())), "sources": sources,
                "spec_digest": spec_digest, "split_definition": split_definition,
                "lineage": {"previous": refs["latest"]}, "packages": _packages(),
                "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                **(extra or {}),
            }
            self._commit(manifest, final)
            refs["history"].append(vid)
            refs["latest"] = vid
            self._write_refs(refs)
            fault_point("publish.after_refs")
        self._done = True
        return PublishResult(self.name, vid, "published", final, rows, manifest["lineage"]
                             ["previous"])

    def _schema_doc(self) -> list[dict[str, Any]]:
        return [{"name": f.name, "type": str(f.type), "nullable": f.nullable}
                for f in (self._schema or [])]

    def _commit(self, manifest: dict[str, Any], final: Path) -> None:
        atomic_write_bytes(self.path / "manifest.json", pretty_json(manifest))
        fault_point("publish.after_manifest")
        make_readonly(self.path)
        fault_point("publish.after_readonly")
        fsync_dir(self.path / "data")
        fsync_dir(self.path)
        fault_point("publish.after_fsync_dirs")
        fault_point("publish.before_rename")
        os.rename(self.path, final)
        fault_point("publish.after_rename")
        fsync_dir(final.parent)
        fault_point("publish.after_rename_fsync")

    def _reconciled_refs(self) -> dict[str, Any]:
        """Refs with versions adopted that a crash left out (caller holds the lock)."""
        refs = read_refs(self.home, self.name)
        ids = version_ids(self.home, self.name)
        refs["history"] = [v for v in refs["history"] if v in ids]
        orphans = [v for v in ids if v not in refs["history"]]
        if orphans:
            refs["history"].extend(orphans)
            refs["latest"] = orphans[-1]
        elif refs["latest"] not in ids:
            refs["latest"] = refs["history"][-1] if refs["history"] else None
        return refs

    def _write_refs(self, refs: dict[str, Any]) -> None:
        fault_point("publish.before_refs")
        doc = {"latest": refs["latest"], "history": refs["history"], "tags": refs["tags"]}
        atomic_write_bytes(dataset_dir(self.home, self.name) / "refs.json", pretty_json(doc))

    def quarantine(self, reason: str, details: dict | None = None) -> Path:
        """Move the staged attempt to ``quarantine/<name>/<UTC time>-<hex>/`` with reason.json.

        Returns
        -------
        pathlib.Path
            The quarantine folder.
        """
        self._require_open()
        self.close_writers()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.home / "quarantine" / self.name / f"{stamp}-{uuid.uuid4().hex[:8]}"
        target.parent.mkdir(parents=True, exist_ok=True)
        doc = {"reason": reason, "details": details or {}, "name": self.name,
               "created_at": datetime.now(UTC).isoformat(timespec="microseconds")}
        atomic_write_bytes(self.path / "reason.json", pretty_json(doc))
        fault_point("quarantine.before_rename")
        os.rename(self.path, target)
        fsync_dir(target.parent)
        self._done = True
        return target

    def discard(self) -> None:
        """Remove the staging folder (idempotent)."""
        if not self._closed:
            for writer in self._splits.values():
                try:
                    writer.close()
                except Exception:  # noqa: BLE001  # best effort: the folder goes anyway
                    pass
            self._closed = True
        shutil.rmtree(self.path, ignore_errors=True)
        self._done = True

    def _require_open(self) -> None:
        if self._done:
            raise LedgerError("staging already published, quarantined or discarded",
                              where=str(self.path), fix="start a new Staging for a new build")
