"""Published results: ``result.json`` (``fairledger.result/1``), storage and the leaderboard.

Layout::

    <home>/results/<name>/<version>/<model>/result.json
    <home>/results/<name>/<version>/<model>/predictions.parquet
    <home>/results/<name>/<version>/<model>/model.pt          (baselines)
    <home>/results/<name>/<version>/leaderboard.parquet

A model's folder is written as a staging folder beside it and renamed into
place, so readers see the old result or the new one, never half of one.
``result.json`` records the sha256 of every file beside it, the dataset
version and the sha256 of its manifest, and two ``integrity`` digests: of its
content (``content_sha256``, the canonical JSON without ``integrity``) and
of the file itself (``file_sha256``: the sha256 of the file's bytes with
these 64 hex digits read as ``0``), so that :func:`verify_results`
(registered with the ledger's verify) detects any changed byte, whitespace
included, by hashing the file once instead of re-encoding it. It checks that
the dataset version still verifies too.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import platform
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.building import code_digest as package_digest
from pipelines.errors import FairledgerError
from pipelines.faults import fault_point
from pipelines.ledger_io import (
    atomic_write_bytes,
    canonical_json,
    check_name,
    clean_stale,
    fsync_dir,
    pretty_json,
    sha256_file,
)
from pipelines.ledger_read import split_path, version_dir
from pipelines.ledger_verify import problem, register_verifier
from pipelines.result_file import (
    INTEGRITY_METHOD,
    file_digest,
    file_digest_offset,
    result_bytes,
    section,
)

__all__ = ["RESULT_FORMAT", "results_root", "model_dir", "code_digest",
           "reuse_key", "provenance", "build_result", "new_staging", "commit_staging",
           "read_result", "find_reusable", "verify_results", "content_digest", "result_bytes",
           "INTEGRITY_METHOD"]

RESULT_FORMAT = "fairledger.result/1"
_ROOT = Path(__file__).resolve().parents[1]


def results_root(home: Path, name: str, version: str) -> Path:
    """Return ``<home>/results/<name>/<version>``."""
    return Path(home) / "results" / check_name(name) / check_name(version)


def model_dir(home: Path, name: str, version: str, model_id: str) -> Path:
    """Return the folder of one model's result."""
    return results_root(home, name, version) / check_name(model_id)


def code_digest() -> str:
    """Return the sha256 of the evaluation code: every module of ``pipelines`` and ``audits``.

    A hand-kept list of modules missed the ones added later (ROC AUC, result
    files, bootstrap replicates); any change now forces one re-evaluation.
    """
    return package_digest(("pipelines", "audits"))


def reuse_key(**parts: Any) -> str:
    """Return the sha256 of the canonical JSON of what determines a result."""
    return hashlib.sha256(canonical_json(parts)).hexdigest()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(_ROOT), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance(*, seed: int, n_boot: int, spec_digest: str, key: str,
               threads: int | None, training: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the ``provenance`` section (package versions, seeds, digests, time, commit)."""
    return {
        "fairledger": _version("fairledger"), "python": platform.python_version(),
        "packages": {d: _version(d) for d in ("torch", "pyarrow", "numpy", "scipy")},
        "seed": seed, "n_boot": n_boot, "threads": threads, "spec_digest": spec_digest,
        "code_digest": code_digest(), "git_commit": _git_commit(), "reuse_key": key,
        "training": dict(training) if training else None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def content_digest(doc: Mapping[str, Any]) -> str:
    """Return the sha256 of a result's canonical JSON without its ``integrity`` field."""
    return hashlib.sha256(canonical_json({k: v for k, v in doc.items()
                                          if k != "integrity"})).hexdigest()


def build_result(*, dataset: dict[str, Any], model: dict[str, Any], prov: dict[str, Any],
                 audit: Mapping[str, Any], judged: Mapping[str, Any],
                 auc: Mapping[str, Any] | None = None,
                 representativeness: Any = None, quality: Any = None,
                 files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Assemble a ``fairledger.result/1`` document.

    Parameters
    ----------
    dataset, model, prov : dict
        The ``dataset``, ``model`` and ``provenance`` sections.
    audit : mapping
        The audit engine's ``to_dict()`` (metrics, groups, disparities, ...).
    judged : mapping
        :func:`audits.verdict.judge` output (disparities with verdicts,
        findings, overall verdict).
    auc : mapping, optional
        ``{"overall": {"value", "ci"}, "groups": {(feature, group): {...}}}``.
    representativeness, quality : optional
        The dataset version's summaries (None when not computed).
    files : mapping, optional
        ``{file name: sha256}`` of the files stored beside ``result.json``.

    Returns
    -------
    dict
        The document, with an ``integrity`` digest of its content.
    """
    metrics = dict(audit["metrics"])
    groups = [dict(g) for g in audit["groups"]]
    if auc is not None:
        metrics["roc_auc"] = auc["overall"]
        for g in groups:
            g["roc_auc"] = auc["groups"].get((g["feature"], g["group"]),
                                             {"value": None, "ci": None})
    doc: dict[str, Any] = {
        "format": RESULT_FORMAT, "dataset": dataset, "model": model, "provenance": prov,
        "metrics": metrics, "metric_verdicts": judged.get("metric_verdicts", {}),
        "groups": groups, "disparities": judged["disparities"],
        "disparities_all_groups": audit.get("disparities_all_groups"),
        "bootstrap": audit.get("bootstrap"), "min_group_size": audit.get("min_group_size"),
        "representativeness": representativeness, "quality": quality,
        "verdict": judged["verdict"], "findings": judged["findings"],
        "files": dict(files or {}), "integrity_method": INTEGRITY_METHOD,
    }
    doc["integrity"] = {"content_sha256": content_digest(doc)}
    return doc


def new_staging(home: Path, name: str, version: str) -> Path:
    """Create a private staging folder under ``results/<name>/<version>/``."""
    parent = results_root(home, name, version)
    parent.mkdir(parents=True, exist_ok=True)
    clean_stale(parent)
    path = parent / f".staging-{os.getpid()}-{uuid.uuid4().hex[:16]}"
    path.mkdir()
    fault_point("results.after_staging_mkdir")
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False when the system or filesystem cannot (the caller then
    falls back to two renames).
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def commit_staging(staging: Path, target: Path, doc: dict[str, Any]) -> Path:
    """Write ``result.json`` into ``staging`` and rename it into place as ``target``.

    An older result at ``target`` is swapped out atomically (Linux
    ``RENAME_EXCHANGE``) and removed after, so that a crash at any instant
    leaves the old result or the new one in place; where the swap is not
    supported it is moved aside first (a short window without a result).
    ``doc["integrity"]`` gains the file's digest (:func:`result_bytes`).

    Returns
    -------
    pathlib.Path
        ``target / "result.json"``.
    """
    atomic_write_bytes(staging / "result.json", result_bytes(doc))
    fsync_dir(staging)
    fault_point("results.before_commit")
    if target.exists() and _exchange(staging, target):
        fault_point("results.after_exchange")
        fsync_dir(target.parent)
        shutil.rmtree(staging, ignore_errors=True)  # now the old result; stale if killed
        return target / "result.json"
    old = None
    if target.exists():
        old = target.parent / f".old-{os.getpid()}-{uuid.uuid4().hex[:16]}"
        os.rename(target, old)
        fault_point("results.after_move_old")
    os.rename(staging, target)
    fault_point("results.after_rename")
    fsync_dir(target.parent)
    if old is not None:
        fault_point("results.before_remove_old")
        shutil.rmtree(old, ignore_errors=True)
    return target / "result.json"


def read_result(path: Path) -> dict[str, Any]:
    """Read a ``result.json`` file."""
    return dict(json.loads(Path(path).read_bytes()))


def _result_problems(home: Path, path: Path) -> list[dict[str, str]]:
    """Problems of one result folder (empty when it verifies)."""
    try:
        raw = path.read_bytes()
        at = file_digest_offset(raw)
        if at is not None and raw[at:at + 64].decode("ascii") == file_digest(raw, at):
            intact, doc = True, {"files": section(raw, b"files"),
                                 "dataset": section(raw, b"dataset")}
        else:  # no file digest (an older result), or a changed file: read it all
            doc = json.loads(raw)
            intact = at is None and _legacy_intact(raw, doc)
    except (OSError, ValueError) as exc:
        return [problem(home, path, "unreadable", f"result.json cannot be read ({exc})")]
    out = [] if intact else [_altered(home, path)]
    if not isinstance(doc, dict):
        return out
    for fname, sha in sorted((doc.get("files") or {}).items()):
        fpath = path.parent / fname
        if not fpath.is_file():
            out.append(problem(home, fpath, "missing", "listed in result.json, absent"))
        elif sha256_file(fpath) != sha:
            out.append(problem(home, fpath, "altered",
                               f"sha256 differs from result.json ({sha[:12]})"))
    out.extend(_dataset_problems(home, path, doc.get("dataset") or {}))
    return out


def _altered(home: Path, path: Path) -> dict[str, str]:
    return problem(home, path, "altered", "result.json content does not match its "
                                          "integrity digest")


def _legacy_intact(raw: bytes, doc: Any) -> bool:
    """Check a result without ``file_sha256`` (written before file digests existed).

    Such a file must be the pretty JSON of its content, its integrity must hold
    the content digest only, and its content must not name the file-digest method
    (a result written with a file digest that lost it).
    """
    return (isinstance(doc, dict) and "integrity_method" not in doc
            and isinstance(doc.get("integrity"), dict)
            and set(doc["integrity"]) == {"content_sha256"}
            and doc["integrity"]["content_sha256"] == content_digest(doc)
            and raw == pretty_json(doc))


def _dataset_problems(home: Path, path: Path, ds: Mapping[str, Any]) -> list[dict[str, str]]:
    name, vid = str(ds.get("name")), str(ds.get("version"))
    manifest = version_dir(home, name, vid) / "manifest.json"
    if not manifest.is_file():
        return [problem(home, path, "inconsistent",
                        f"dataset version {name}@{vid[:12]} of this result is absent")]
    if sha256_file(manifest) != ds.get("manifest_sha256"):
        return [problem(home, path, "inconsistent", f"dataset {name}@{vid[:12]} manifest "
                                                    "differs from the one the result used")]
    for split in ds.get("splits") or []:
        try:
            split_path(home, name, vid, split, verify=True)
        except FairledgerError as exc:
            return [problem(home, path, "inconsistent",
                            f"dataset version of this result no longer verifies ({exc.line()})")]
    return []


@register_verifier
def verify_results(home: Path) -> Iterable[dict[str, str]]:
    """Check every published result (registered with the ledger's verify).

    Yields
    ------
    dict
        Problems: altered or missing result files, altered ``result.json``,
        or a dataset version that is gone or no longer verifies.
    """
    root = Path(home) / "results"
    if not root.is_dir():
        return
    for path in sorted(root.glob("*/*/*/result.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        yield from _result_problems(Path(home), path)


def find_reusable(home: Path, name: str, version: str, model_id: str,
                  key: str) -> dict[str, Any] | None:
    """Return the stored result with this reuse key if it still verifies, else None."""
    if results_root(home, name, version).is_dir():
        clean_stale(results_root(home, name, version))  # leftovers of killed evaluations
    path = model_dir(home, name, version, model_id) / "result.json"
    if not path.is_file():
        return None
    try:
        doc = read_result(path)
    except (OSError, ValueError):
        return None
    if (doc.get("provenance") or {}).get("reuse_key") != key:
        return None
    return None if _result_problems(Path(home), path) else doc
