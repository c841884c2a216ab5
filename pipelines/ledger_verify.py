"""Verify the whole ledger against its manifests and name everything wrong.

Every dataset version is checked: its manifest parses, names its own folder,
and re-hashes to the folder's version id (so an edited manifest is caught);
every file it lists exists with the listed sha256 and size; no unlisted file
sits in the version folder; ``refs.json`` parses and names only existing
versions. Temporary entries of builds in progress or of killed builds
(``.staging-*``, ``.*.tmp-*``) are not problems: the next build removes them.

Other parts of fairledger add checks with :func:`register_verifier` (e.g.
result files); each checker takes the ledger folder and yields problems.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.content_hash import version_id
from pipelines.ledger_io import is_temporary, sha256_file
from pipelines.ledger_read import datasets_root, is_version_name

__all__ = ["VerifyReport", "Verifier", "check_ledger", "verify_ledger", "register_verifier",
           "problem"]

#: A checker: takes the ledger folder, yields problem dicts (see :func:`problem`).
Verifier = Callable[[Path], Iterable[dict[str, str]]]
_VERIFIERS: list[Verifier] = []


@dataclass
class VerifyReport:
    """Outcome of :func:`check_ledger`: problems and what was checked."""

    problems: list[dict[str, str]] = field(default_factory=list)
    versions: int = 0
    files: int = 0


def problem(home: Path, path: Path, kind: str, detail: str) -> dict[str, str]:
    """Build one problem record.

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder (paths are reported relative to it).
    path : pathlib.Path
        The file or folder that is wrong.
    kind : str
        ``"missing"``, ``"altered"``, ``"unexpected"``, ``"unreadable"`` or
        ``"inconsistent"`` (or a checker's own kind).
    detail : str
        What exactly is wrong, in words.

    Returns
    -------
    dict
        ``{"path", "problem", "detail"}``.
    """
    try:
        rel = Path(path).relative_to(home).as_posix()
    except ValueError:
        rel = Path(path).as_posix()
    return {"path": rel, "problem": kind, "detail": detail}


def register_verifier(fn: Verifier) -> Verifier:
    """Add a checker that :func:`check_ledger` runs after the dataset checks.

    Usable as a decorator; registering the same function twice has no effect.
    """
    if fn not in _VERIFIERS:
        _VERIFIERS.append(fn)
    return fn


def _load_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_bytes()), None
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({exc.__class__.__name__}: {exc})"


def _check_file(home: Path, path: Path, sha: str, size: int | None, rep: VerifyReport) -> None:
    rep.files += 1
    if not path.is_file():
        rep.problems.append(problem(home, path, "missing", "listed in the manifest, absent"))
        return
    actual = sha256_file(path)
    if actual != sha:
        rep.problems.append(problem(home, path, "altered",
                                    f"sha256 {actual[:12]} differs from manifest {sha[:12]}"))
    elif size is not None and path.stat().st_size != size:
        rep.problems.append(problem(home, path, "altered", "size differs from manifest"))


def _expected_id(man: dict[str, Any]) -> str:
    schema = [{"name": f["name"], "type": f["type"]} for f in man["schema"]]
    return version_id(schema, man["splits"], man["split_definition"])


def _check_version(home: Path, folder: Path, rep: VerifyReport) -> None:
    rep.versions += 1
    mpath = folder / "manifest.json"
    man, err = _load_json(mpath)
    if err:
        kind = "missing" if err == "missing" else "unreadable"
        rep.problems.append(problem(home, mpath, kind, f"manifest {err}"))
        return
    rep.files += 1
    try:
        expected = _expected_id(man)
        listed = {e["file"]: (e["sha256"], e.get("bytes")) for e in man["splits"].values()}
        listed.update({k: (v, None) for k, v in man.get("files", {}).items()})
    except (KeyError, TypeError, AttributeError) as exc:
        rep.problems.append(problem(home, mpath, "altered", f"manifest lacks a field ({exc})"))
        return
    if man.get("version") != folder.name or expected != folder.name:
        rep.problems.append(problem(home, mpath, "altered",
                                    "manifest content does not hash to its version id"))
    for rel, (sha, size) in sorted(listed.items()):
        _check_file(home, folder / rel, sha, size, rep)
    for root, _dirs, files in os.walk(folder):
        for fname in files:
            path = Path(root) / fname
            rel = path.relative_to(folder).as_posix()
            if rel != "manifest.json" and rel not in listed:
                rep.problems.append(problem(home, path, "unexpected",
                                            "file not listed in the manifest"))


def _check_refs(home: Path, folder: Path, versions: set[str], rep: VerifyReport) -> None:
    path = folder / "refs.json"
    refs, err = _load_json(path)
    if err == "missing":
        return  # a first build killed before its refs write; the next build adopts it
    if err or not isinstance(refs, dict):
        detail = f"refs.json {err or 'is not a JSON object'}"
        rep.problems.append(problem(home, path, "unreadable", detail))
        return
    named = {"latest": [refs.get("latest")] if refs.get("latest") else []}
    named["history"] = list(refs.get("history", []))
    named["tags"] = list(dict(refs.get("tags", {})).values())
    for key, ids in named.items():
        for vid in ids:
            if vid not in versions:
                rep.problems.append(problem(home, folder / str(vid), "missing",
                                            f"version named by refs.json {key} is absent"))
    if refs.get("latest") and refs["latest"] not in named["history"]:
        rep.problems.append(problem(home, path, "inconsistent", "latest is not in history"))


def _check_dataset(home: Path, folder: Path, rep: VerifyReport) -> None:
    versions: set[str] = set()
    for entry in sorted(folder.iterdir()):
        if is_temporary(entry.name) or entry.name == "refs.json":
            continue
        if entry.is_dir() and is_version_name(entry.name):
            versions.add(entry.name)
            _check_version(home, entry, rep)
        else:
            rep.problems.append(problem(home, entry, "unexpected",
                                        "neither a version folder nor refs.json"))
    _check_refs(home, folder, versions, rep)


#: Modules whose import registers their checkers (results, policy bundles).
_BUILTIN_VERIFIERS = ("pipelines.results", "pipelines.bundle_verify")


def _load_builtin_verifiers() -> None:
    """Import the modules that register fairledger's own extra checks."""
    import importlib

    for module in _BUILTIN_VERIFIERS:
        importlib.import_module(module)


def check_ledger(home: Path) -> VerifyReport:
    """Check every dataset version and every registered extra check.

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder.

    Returns
    -------
    VerifyReport
        Problems (empty when clean) and the number of versions and files checked.
    """
    _load_builtin_verifiers()
    home = Path(home)
    rep = VerifyReport()
    root = datasets_root(home)
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and not is_temporary(folder.name):
                _check_dataset(home, folder, rep)
    for fn in list(_VERIFIERS):
        rep.problems.extend(fn(home))
    return rep


def verify_ledger(home: Path) -> list[dict[str, str]]:
    """Return the problems of the ledger (empty list when clean).

    Each problem is ``{"path": <relative to home>, "problem": kind, "detail": text}``.
    """
    return check_ledger(home).problems
