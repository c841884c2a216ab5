"""Verify the policy bundles stored in the ledger (``reports/<name>/<version>/*.zip``).

A bundle carries its own ``manifest.json`` listing the sha256 and size of
every other file in it. :func:`verify_bundles` (registered with the
ledger's verify) checks that every entry is readable with a correct CRC,
matches the manifest, that no entry is missing or unlisted, that the
dataset version the bundle names is this folder's and still exists, and
that the zip container itself is byte for byte the canonical one the
writer produces (sorted entries, fixed dates, deflate), so that a changed
byte anywhere in the file, headers and comment included, is caught.

The canonical layout mirrors ``audits.export`` (``_write_zip``); both must
change together.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipelines.ledger_read import version_dir
from pipelines.ledger_verify import problem, register_verifier

__all__ = ["verify_bundles", "bundle_problems", "canonical_zip"]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def canonical_zip(files: dict[str, bytes]) -> bytes:
    """Return the zip bytes the bundle writer produces for ``files``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in sorted(files.items()):
            zf.writestr(zipfile.ZipInfo(path, date_time=_ZIP_DATE), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _entries(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _listing_problems(home: Path, path: Path, entries: dict[str, bytes],
                      listed: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for name, meta in sorted(listed.items()):
        data = entries.get(name)
        if data is None:
            out.append(problem(home, path, "missing", f"bundle entry {name} is absent"))
        elif not isinstance(meta, dict) or hashlib.sha256(data).hexdigest() != meta.get(
                "sha256") or len(data) != meta.get("bytes"):
            out.append(problem(home, path, "altered",
                               f"bundle entry {name} differs from the bundle manifest"))
    for name in sorted(set(entries) - set(listed) - {"manifest.json"}):
        out.append(problem(home, path, "unexpected",
                           f"bundle entry {name} is not listed in the bundle manifest"))
    return out


def _dataset_problems(home: Path, path: Path, doc: dict[str, Any]) -> list[dict[str, str]]:
    ds = doc.get("dataset") or {}
    name, vid = str(ds.get("name")), str(ds.get("version"))
    if [name, vid] != list(path.parent.relative_to(home / "reports").parts):
        return [problem(home, path, "inconsistent",
                        f"bundle names dataset {name}@{vid[:12]}, not its folder's")]
    try:
        present = (version_dir(home, name, vid) / "manifest.json").is_file()
    except Exception:  # noqa: BLE001  # an invalid name in a tampered manifest
        present = False
    if not present:
        return [problem(home, path, "inconsistent",
                        f"dataset version {name}@{vid[:12]} of this bundle is absent")]
    return []


def bundle_problems(home: Path, path: Path) -> list[dict[str, str]]:
    """Return the problems of one bundle zip (empty when it verifies).

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder.
    path : pathlib.Path
        A ``reports/<name>/<version>/<file>.zip``.

    Returns
    -------
    list of dict
        Problems (see :func:`pipelines.ledger_verify.problem`).
    """
    try:
        raw = path.read_bytes()
        entries = _entries(raw)
        doc = json.loads(entries["manifest.json"])
        listed = dict(doc["files"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
            zipfile.LargeZipFile, EOFError) as exc:
        detail = f"bundle cannot be read ({exc.__class__.__name__}: {exc})"
        return [problem(home, path, "unreadable", detail[:300])]
    out = _listing_problems(home, path, entries, listed)
    if not out and canonical_zip(entries) != raw:
        out.append(problem(home, path, "altered",
                           "bundle zip bytes differ from the canonical zip of its entries"))
    out.extend(_dataset_problems(home, path, doc))
    return out


@register_verifier
def verify_bundles(home: Path) -> Iterable[dict[str, str]]:
    """Check every policy bundle under ``reports/`` (registered with the ledger's verify).

    Yields
    ------
    dict
        Problems: unreadable, altered, missing or unexpected entries, or a
        bundle whose dataset version is absent.
    """
    root = Path(home) / "reports"
    if not root.is_dir():
        return
    for path in sorted(root.glob("*/*/*.zip")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        yield from bundle_problems(Path(home), path)
