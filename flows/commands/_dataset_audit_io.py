"""Store lookups shared by ``audit-dataset`` and ``diff``: a version's audit and spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.errors import NotFoundError, VerificationFailed

__all__ = ["load_audit", "default_spec_path"]


def default_spec_path(name: str, spec: str | None) -> Path:
    """Return ``--spec`` or ``datasets_spec/<name>.yaml``."""
    return Path(spec) if spec else Path("datasets_spec") / f"{name}.yaml"


def load_audit(home: Path, name: str, version: str | None, spec: str | None
               ) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """Return ``(version id, manifest, audit, origin)`` of a dataset version.

    The audit is read from the version's ``audit.json`` (written at build
    time); a version built without one is audited now from its verified
    Parquet files and the spec (``--spec``, default ``datasets_spec/NAME.yaml``),
    and nothing is written (versions are immutable).

    Raises
    ------
    NotFoundError
        When the dataset or version does not exist, or no audit and no spec are found.
    VerificationFailed
        When ``audit.json`` is unreadable or a data file does not match the manifest.
    """
    from pipelines.store import read_manifest, resolve_version, split_path, version_dir

    vid = resolve_version(home, name, version)
    manifest = read_manifest(home, name, vid)
    path = version_dir(home, name, vid) / "audit.json"
    if path.is_file():
        try:
            return vid, manifest, dict(json.loads(path.read_bytes())), "audit.json"
        except ValueError:
            raise VerificationFailed("audit.json is not valid JSON", where=str(path),
                                     fix="run 'fairledger verify'; rebuild the dataset") from None
    spec_file = default_spec_path(name, spec)
    if not spec_file.is_file():
        raise NotFoundError(f"{name}@{vid[:12]} has no audit.json and its spec was not found",
                            where=str(spec_file), fix="pass --spec PATH to the dataset's spec")
    from audits.dataset_audit import audit_dataset
    from pipelines.spec import load_spec

    spec_obj = load_spec(spec_file)
    paths = {s: split_path(home, name, vid, s) for s in manifest.get("splits", {})}
    audit = audit_dataset(spec_obj, paths, spec_dir=spec_file.parent)
    return vid, manifest, audit, f"computed now with {spec_file}"
