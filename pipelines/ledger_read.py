"""Read side of the ledger: datasets, versions, manifests and verified file paths.

Layout (see DESIGN.md)::

    <home>/datasets/<name>/<version>/manifest.json
    <home>/datasets/<name>/<version>/data/<split>.parquet
    <home>/datasets/<name>/refs.json      {"latest", "history", "tags"}

A version folder is complete by construction (it is renamed into place with
its manifest), so the set of versions is the set of 64-hex folders. If a
build died between that rename and the refs update, the version exists but
``refs.json`` does not list it yet; readers order such versions after the
listed ones (by ``created_at``) and the next publish adopts them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pipelines.errors import NotFoundError, VerificationFailed
from pipelines.ledger_io import check_name, sha256_file

__all__ = [
    "datasets_root",
    "dataset_dir",
    "version_dir",
    "read_refs",
    "list_datasets",
    "version_ids",
    "list_versions",
    "resolve_version",
    "read_manifest",
    "split_path",
    "is_version_name",
]

_VERSION_RE = re.compile(r"^[0-9a-f]{64}$")
_PREFIX_RE = re.compile(r"^[0-9a-f]{6,64}$")


def is_version_name(name: str) -> bool:
    """Tell whether a folder name is a version id (64 lower-case hex)."""
    return bool(_VERSION_RE.match(name))


def datasets_root(home: Path) -> Path:
    """Return ``<home>/datasets``."""
    return Path(home) / "datasets"


def dataset_dir(home: Path, name: str) -> Path:
    """Return ``<home>/datasets/<name>`` (the name is validated, not checked to exist)."""
    return datasets_root(home) / check_name(name)


def version_dir(home: Path, name: str, version: str) -> Path:
    """Return the folder of one version (not checked to exist)."""
    return dataset_dir(home, name) / version


def read_refs(home: Path, name: str) -> dict[str, Any]:
    """Return ``refs.json`` of a dataset, or an empty ref set when it has none.

    Returns
    -------
    dict
        ``{"latest": str | None, "history": list[str], "tags": dict[str, str]}``.
    """
    path = dataset_dir(home, name) / "refs.json"
    try:
        refs = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"latest": None, "history": [], "tags": {}}
    except (OSError, ValueError) as exc:
        raise VerificationFailed(
            f"refs.json cannot be read ({exc})", where=str(path),
            fix="run 'fairledger verify'; restore refs.json or rebuild the dataset",
        ) from None
    return {"latest": refs.get("latest"), "history": list(refs.get("history", [])),
            "tags": dict(refs.get("tags", {}))}


def list_datasets(home: Path) -> list[str]:
    """Return the names of the datasets in the ledger, sorted."""
    root = datasets_root(home)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and version_ids(home, p.name))


def _manifest_quiet(folder: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((folder / "manifest.json").read_bytes()))
    except (OSError, ValueError):
        return {}


def version_ids(home: Path, name: str) -> list[str]:
    """Return the version ids of a dataset, oldest first (refs order, then orphans)."""
    folder = dataset_dir(home, name)
    if not folder.is_dir():
        return []
    present = {p.name for p in folder.iterdir() if p.is_dir() and is_version_name(p.name)}
    refs = read_refs(home, name) if (folder / "refs.json").exists() else {"history": []}
    ordered = [v for v in refs["history"] if v in present]
    orphans = sorted(present - set(ordered),
                     key=lambda v: (str(_manifest_quiet(folder / v).get("created_at", "")), v))
    return ordered + orphans


def _not_found_dataset(home: Path, name: str) -> NotFoundError:
    known = list_datasets(home)
    return NotFoundError(
        f"dataset {name!r} not found in the ledger",
        where=str(home),
        fix=(f"known datasets: {', '.join(known)}" if known
             else "build it first with 'fairledger build SPEC', or pass the right --home"),
    )


def _latest(home: Path, name: str, ids: list[str]) -> str:
    refs = read_refs(home, name)
    latest = refs.get("latest")
    orphans_after = [v for v in ids if v not in refs["history"]]
    if orphans_after:  # published but refs not updated (crash): newest wins
        return orphans_after[-1]
    if latest in ids:
        return str(latest)
    return ids[-1]


def resolve_version(home: Path, name: str, version: str | None = None) -> str:
    """Return the full version id that ``version`` names.

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder.
    name : str
        The dataset name.
    version : str or None
        None or ``"latest"`` for the latest version, a tag, a full id, or a
        unique prefix of at least 6 hexadecimal characters.

    Returns
    -------
    str
        The 64-character version id.

    Raises
    ------
    NotFoundError
        When the dataset or the version does not exist (the message lists
        the known names), or a prefix is too short or ambiguous.
    """
    ids = version_ids(home, name)
    if not ids:
        raise _not_found_dataset(home, name)
    if version in (None, "", "latest"):
        return _latest(home, name, ids)
    assert version is not None
    tags = read_refs(home, name)["tags"]
    if version in tags and tags[version] in ids:
        return str(tags[version])
    matches = [v for v in ids if v.startswith(version)] if _PREFIX_RE.match(version) else []
    if len(matches) == 1:
        return matches[0]
    latest = _latest(home, name, ids)
    known = ", ".join(v[:12] + (" (latest)" if v == latest else "") for v in reversed(ids))
    problem = "is ambiguous" if len(matches) > 1 else "not found"
    hint = "; give at least 6 hex characters" if not _PREFIX_RE.match(version) else ""
    raise NotFoundError(
        f"version {version!r} of dataset {name!r} {problem}{hint}",
        where=str(dataset_dir(home, name)),
        fix=f"known versions: {known}",
    )


def read_manifest(home: Path, name: str, version: str | None = None) -> dict[str, Any]:
    """Return the manifest of a version (default: the latest).

    Raises
    ------
    NotFoundError
        When the dataset or version does not exist.
    VerificationFailed
        When the manifest is missing or not valid JSON.
    """
    vid = resolve_version(home, name, version)
    path = version_dir(home, name, vid) / "manifest.json"
    try:
        return dict(json.loads(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise VerificationFailed(
            f"manifest cannot be read ({exc.__class__.__name__})", where=str(path),
            fix="run 'fairledger verify'; rebuild the dataset",
        ) from None


def list_versions(home: Path, name: str) -> list[dict[str, Any]]:
    """Summarise every version of a dataset, oldest first.

    Returns
    -------
    list of dict
        ``{"version", "created_at", "rows": {split: n}, "previous", "latest"}``.

    Raises
    ------
    NotFoundError
        When the dataset does not exist.
    """
    ids = version_ids(home, name)
    if not ids:
        raise _not_found_dataset(home, name)
    latest = _latest(home, name, ids)
    out = []
    for vid in ids:
        man = _manifest_quiet(version_dir(home, name, vid))
        out.append({
            "version": vid,
            "created_at": man.get("created_at"),
            "rows": {k: v.get("rows") for k, v in man.get("splits", {}).items()},
            "previous": man.get("lineage", {}).get("previous"),
            "latest": vid == latest,
        })
    return out


def split_path(home: Path, name: str, version: str | None, split: str, *,
               verify: bool = True) -> Path:
    """Return the Parquet file of one split, checked against the manifest.

    Parameters
    ----------
    home, name, version
        As for :func:`resolve_version`.
    split : str
        The split name, e.g. ``"train"``, ``"test"`` or ``"all"``.
    verify : bool
        Check the file's sha256 against the manifest first (default True).

    Raises
    ------
    NotFoundError
        When the dataset, version or split does not exist.
    VerificationFailed
        When the file is missing or its sha256 differs from the manifest.
    """
    vid = resolve_version(home, name, version)
    manifest = read_manifest(home, name, vid)
    splits = manifest.get("splits", {})
    if split not in splits:
        raise NotFoundError(
            f"split {split!r} not found in {name}@{vid[:12]}",
            where=str(version_dir(home, name, vid) / "manifest.json"),
            fix=f"known splits: {', '.join(sorted(splits))}",
        )
    entry = splits[split]
    path = version_dir(home, name, vid) / entry["file"]
    if verify:
        if not path.is_file():
            raise VerificationFailed(
                "file listed in the manifest is missing", where=str(path),
                fix="run 'fairledger verify'; rebuild the dataset",
            )
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise VerificationFailed(
                f"file does not match its manifest (sha256 {actual[:12]}, "
                f"expected {entry['sha256'][:12]})",
                where=str(path),
                fix="run 'fairledger verify'; rebuild the dataset",
            )
    return path
