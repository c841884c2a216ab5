"""Resolve a spec's source to verified bytes: mirror, cache or download.

A file source is looked up, in order, in each ``FAIRLEDGER_MIRROR`` folder
(``<mirror>/<spec name>/<file name>``), in the download cache
(``<home>/cache/sources/<sha256>``) and finally downloaded (with a timeout,
retries with backoff and an optional progress bar). Whatever the origin, the
sha256 in the spec is checked before the file is used; a mismatch names both
digests and writes nothing. For a zip archive (``read.member``) the sha256
pins the member, which is what is cached. Hugging Face Hub sources are read
through :mod:`pipelines.hf_source`.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pipelines.errors import SourceError
from pipelines.faults import fault_point
from pipelines.ledger_io import clean_stale
from pipelines.progress import step
from pipelines.spec import DatasetSpec, FileSource, HuggingFaceSource

__all__ = [
    "MIRROR_ENV",
    "Origin",
    "ResolvedSource",
    "resolve_source",
    "resolve_all",
    "mirror_folders",
    "cache_dir",
    "sha256_of",
]

#: Environment variable listing mirror folders (``os.pathsep``-separated).
MIRROR_ENV = "FAIRLEDGER_MIRROR"
Origin = Literal["mirror", "cache", "download", "local", "huggingface"]
_CHUNK = 4 << 20


@dataclass(frozen=True)
class ResolvedSource:
    """A source whose bytes are present locally and verified.

    Attributes
    ----------
    source : FileSource or HuggingFaceSource
        The spec's source entry.
    path : pathlib.Path or None
        The verified local file (None for Hugging Face sources).
    sha256 : str
        The verified digest (for Hugging Face: sha256 of the fingerprint).
    origin : str
        Where the bytes came from: mirror, cache, download, local or huggingface.
    fingerprint : dict
        What the manifest records about the source.
    dataset : Any
        The loaded ``datasets.Dataset`` for Hugging Face sources, else None.
    """

    source: FileSource | HuggingFaceSource
    path: Path | None
    sha256: str
    origin: Origin
    fingerprint: dict[str, Any]
    dataset: Any = field(default=None, compare=False, repr=False)


def mirror_folders(mirrors: Sequence[Path | str] | None = None) -> list[Path]:
    """Return the mirror folders to try: ``mirrors`` or those in ``$FAIRLEDGER_MIRROR``.

    Parameters
    ----------
    mirrors : sequence of path, optional
        Explicit folders; when None, ``FAIRLEDGER_MIRROR`` is split on ``os.pathsep``.

    Returns
    -------
    list of pathlib.Path
        The folders, in order (missing ones are kept; lookups just miss).
    """
    if mirrors is None:
        raw = os.environ.get(MIRROR_ENV, "")
        mirrors = [p for p in raw.split(os.pathsep) if p.strip()]
    return [Path(m).expanduser() for m in mirrors]


def cache_dir(home: Path) -> Path:
    """Return the download cache folder of the ledger at ``home``."""
    return Path(home) / "cache" / "sources"


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of the file at ``path`` (read in 4 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatch(source: FileSource, actual: str, where: str, *, wrote: str) -> SourceError:
    return SourceError(
        f"sha256 mismatch for {source.mirror_name}: expected {source.sha256}, got {actual}"
        f" ({wrote})",
        where=where,
        fix="if the publisher changed the file on purpose, review it and update the "
        "source's sha256 in the spec; otherwise replace the corrupt copy",
    )


def _fingerprint(source: FileSource, path: Path, origin: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "file",
        "url": source.url,
        "file": source.mirror_name,
        "sha256": source.sha256,
        "origin": origin,
        "bytes": path.stat().st_size,
        "format": source.format,
    }
    if source.read.member:
        out["member"] = source.read.member
    if source.role:
        out["role"] = source.role
    return out


def _resolved(source: FileSource, path: Path, origin: Origin) -> ResolvedSource:
    return ResolvedSource(source, path, source.sha256, origin, _fingerprint(source, path, origin))


def _local_path(url: str) -> Path | None:
    """Return the local path a ``file://`` URL or plain path names, else None."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if not parsed.scheme:
        return Path(url).expanduser()
    return None


def _verify_in_place(source: FileSource, path: Path, origin: Origin) -> ResolvedSource:
    actual = sha256_of(path)
    if actual != source.sha256:
        raise _mismatch(source, actual, str(path), wrote="nothing was written")
    return _resolved(source, path, origin)


def resolve_source(
    spec: DatasetSpec,
    source: FileSource | HuggingFaceSource,
    *,
    home: Path,
    mirrors: Sequence[Path | str] | None = None,
    timeout: float = 60,
    retries: int = 3,
    progress: bool = False,
) -> ResolvedSource:
    """Make one source's bytes available locally and verify them.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec (its name is the mirror sub-folder).
    source : FileSource or HuggingFaceSource
        One of ``spec.sources``.
    home : pathlib.Path
        The ledger folder (download cache under ``cache/sources``).
    mirrors : sequence of path, optional
        Mirror folders; default from ``$FAIRLEDGER_MIRROR``.
    timeout : float
        Seconds before a stalled download attempt is abandoned.
    retries : int
        Download attempts after the first failure.
    progress : bool
        Show a progress bar on standard error while downloading.

    Returns
    -------
    ResolvedSource
        The verified local file (or loaded Hugging Face dataset) and its fingerprint.

    Raises
    ------
    SourceError
        On sha256 mismatch, a missing archive member or a failed download.
    """
    if isinstance(source, HuggingFaceSource):
        from pipelines.hf_source import resolve_huggingface

        return resolve_huggingface(spec, source, home=home, mirrors=mirror_folders(mirrors))
    for folder in mirror_folders(mirrors):
        candidate = folder / spec.name / source.mirror_name
        if candidate.is_file():
            return _verify_in_place(source, candidate, "mirror")
    cached = cache_dir(home) / source.sha256
    if cached.is_file():
        return _verify_in_place(source, cached, "cache")
    local = _local_path(source.url)
    if local is not None and not source.read.member:
        if not local.is_file():
            raise SourceError(
                "source file not found",
                where=str(local),
                fix=f"check the source url, or put the file in a mirror as "
                f"<{MIRROR_ENV}>/{spec.name}/{source.mirror_name}",
            )
        return _verify_in_place(source, local, "local")
    path = _fetch_into_cache(spec, source, home, local, timeout, retries, progress)
    origin: Origin = "local" if local is not None else "download"
    return _resolved(source, path, origin)


def resolve_all(
    spec: DatasetSpec, *, home: Path, mirrors: Sequence[Path | str] | None = None, **kwargs: Any
) -> list[ResolvedSource]:
    """Resolve every source of ``spec`` in order (see :func:`resolve_source`)."""
    return [resolve_source(spec, s, home=home, mirrors=mirrors, **kwargs) for s in spec.sources]


def _fetch_into_cache(
    spec: DatasetSpec,
    source: FileSource,
    home: Path,
    local: Path | None,
    timeout: float,
    retries: int,
    progress: bool,
) -> Path:
    """Download (or copy from a local archive), verify, and move into the cache."""
    folder = cache_dir(home)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(
            f"cannot create the download cache ({exc.strerror})",
            where=str(folder),
            fix="pass --home (or FAIRLEDGER_HOME) naming a writable folder",
        ) from None
    clean_stale(folder)
    tmp = folder / f".{source.sha256}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    archive = folder / f".{source.sha256}.zip.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        if source.read.member:
            if local is None:
                _download(source.url, archive, timeout, retries, progress)
            actual = _extract_member(local or archive, source.read.member, tmp)
        else:
            actual = _download(source.url, tmp, timeout, retries, progress)
        if actual != source.sha256:
            raise _mismatch(source, actual, source.url, wrote="the download was discarded")
        target = folder / source.sha256
        fault_point("sources.cache_before_replace")
        os.replace(tmp, target)
        fault_point("sources.cache_after_replace")
        return target
    finally:
        for leftover in (tmp, archive):
            leftover.unlink(missing_ok=True)


def _copy_hashing(
    src: IO[bytes], dst: IO[bytes], on_chunk: Callable[[int], None] | None = None
) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: src.read(1 << 20), b""):
        digest.update(chunk)
        dst.write(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    return digest.hexdigest()


def _extract_member(archive: Path, member: str, target: Path) -> str:
    """Stream ``member`` of the zip ``archive`` into ``target``; return its sha256."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            name = member if member in names else None
            if name is None:
                base = [n for n in names if n.rsplit("/", 1)[-1] == member.rsplit("/", 1)[-1]]
                name = base[0] if len(base) == 1 else None
            if name is None:
                raise SourceError(
                    f"archive member '{member}' not found",
                    where=str(archive),
                    fix=f"set read.member to one of: {', '.join(names)}",
                )
            with zf.open(name) as src, open(target, "wb") as dst:
                return _copy_hashing(src, dst)
    except zipfile.BadZipFile:
        raise SourceError(
            "the source is not a zip archive but read.member is set",
            where=str(archive),
            fix="remove read.member, or point the url at the zip archive",
        ) from None


def _download(url: str, target: Path, timeout: float, retries: int, progress: bool) -> str:
    """Download ``url`` to ``target`` with retries; return the sha256 of the bytes."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
        try:
            return _download_once(url, target, timeout, progress)
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.reason}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            last = str(reason).strip() or type(exc).__name__
    tries = attempt + 1
    raise SourceError(
        f"cannot download the source ({last}) after {tries} attempt{'s' * (tries > 1)}",
        where=url,
        fix=f"check the url and the network, or put the file in a {MIRROR_ENV} folder",
    )


def _download_once(url: str, target: Path, timeout: float, progress: bool) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "fairledger/0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as resp, open(target, "wb") as dst:
        total = int(resp.headers.get("Content-Length") or 0) or None
        label = f"download {url.rsplit('/', 1)[-1]}"
        with step(label, total, unit="bytes", show=progress or None) as advance:
            return _copy_hashing(resp, dst, advance)
