"""Low-level ledger file operations: canonical JSON, atomic writes, locks, hashing.

Everything here is crash-safe on a POSIX filesystem: a file is written to a
temporary name in its final folder, flushed and fsynced, then renamed over
the target with :func:`os.replace`, and the folder is fsynced so that the
rename itself survives a power cut. Temporary names carry the writer's pid
(``.<name>.tmp-<pid>-<hex>``, ``.staging-<pid>-<hex>``) so that a later run
can tell leftovers of dead processes from work in progress and remove them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines._json_indent import indent_compact
from pipelines.errors import ArgumentError, LedgerError, LockTimeout
from pipelines.faults import fault_point

__all__ = [
    "canonical_json",
    "pretty_json",
    "atomic_write_bytes",
    "sha256_file",
    "fsync_dir",
    "dataset_lock",
    "check_name",
    "temp_owner_pid",
    "pid_alive",
    "is_temporary",
    "clean_stale",
    "make_readonly",
    "new_temp_name",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_TEMP_RE = re.compile(r"^\.(?:staging|.+\.tmp)-(\d+)-[0-9a-f]+$")
_CHUNK = 4 << 20


_PLAIN = frozenset({str, int, bool, type(None)})


def _jsonable(obj: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by their names, recursively.

    Also turns dict keys into strings, tuples into lists and paths into POSIX
    strings. Plain values (exact ``str``, ``int``, ``bool``, ``None`` and finite
    ``float``) are copied inline, without a call each: this walk runs over
    every value of a result with 100,000 groups.
    """
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if kind is float:
        return obj if obj - obj == 0.0 else _nonfinite(obj)
    if kind is dict:
        return {k if type(k) is str else str(k):
                v if type(v) in _PLAIN or (type(v) is float and v - v == 0.0) else _jsonable(v)
                for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN or (type(v) is float and v - v == 0.0) else _jsonable(v)
                for v in obj]
    return _jsonable_other(obj)


def _nonfinite(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _jsonable_other(obj: Any) -> Any:
    """:func:`_jsonable` for subclasses of the plain types, paths and anything else."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return _nonfinite(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    return obj


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` canonically: sorted keys, no whitespace, UTF-8.

    Floats use Python's shortest round-trip ``repr`` (deterministic across
    platforms); NaN and infinities, which JSON cannot hold, become the strings
    ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``. Tuples serialise as lists
    and paths as POSIX strings.

    Parameters
    ----------
    obj : Any
        JSON-compatible data.

    Returns
    -------
    bytes
        The canonical UTF-8 encoding.
    """
    text = json.dumps(
        _jsonable(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        allow_nan=False, default=str,
    )
    return text.encode("utf-8")


def pretty_json(obj: Any) -> bytes:
    """Serialise ``obj`` for people: sorted keys, indented, trailing newline.

    The bytes are those of ``json.dumps(obj, sort_keys=True, indent=2,
    ensure_ascii=False)`` plus a newline (after :func:`canonical_json`'s
    replacements), produced by the C encoder and indented in bulk
    (:func:`pipelines._json_indent.indent_compact`): seconds, not minutes,
    for a result with 100,000 groups.
    """
    text = json.dumps(
        _jsonable(obj), sort_keys=True, separators=(",", ": "), ensure_ascii=False,
        allow_nan=False, default=str,
    )
    return indent_compact(text.encode("utf-8")) + b"\n"


def new_temp_name(stem: str) -> str:
    """Return a temporary entry name owned by this process, e.g. ``.refs.json.tmp-12-ab``."""
    return f".{stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def fsync_dir(path: Path) -> None:
    """Fsync a folder so that renames and creations inside it are durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename, fsync folder).

    Parameters
    ----------
    path : pathlib.Path
        The target file; its folder must exist.
    data : bytes
        The complete new content.
    """
    tmp = path.parent / new_temp_name(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            fault_point(f"atomic.{path.name}.before_fsync")
            os.fsync(fh.fileno())
        fault_point(f"atomic.{path.name}.before_replace")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fault_point(f"atomic.{path.name}.after_replace")
    fsync_dir(path.parent)


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise ArgumentError.

    Parameters
    ----------
    name : str
        A dataset name: letters, digits, ``_``, ``.`` and ``-``, not starting
        with a dot or dash, at most 128 characters.

    Returns
    -------
    str
        The same name.
    """
    if not _NAME_RE.match(name):
        raise ArgumentError(
            f"invalid dataset name {name!r}",
            where="name",
            fix="use letters, digits, '_', '.' and '-', starting with a letter or digit",
        )
    return name


@contextlib.contextmanager
def dataset_lock(home: Path, name: str, timeout: float) -> Iterator[None]:
    """Hold the exclusive lock of one dataset (``<home>/locks/<name>.lock``).

    The lock is an ``fcntl.flock`` on a file that is never deleted; the kernel
    releases it when the holder dies, so a killed build never leaves the
    dataset locked.

    Parameters
    ----------
    home : pathlib.Path
        The ledger folder.
    name : str
        The dataset name.
    timeout : float
        Seconds to wait for the lock.

    Raises
    ------
    LockTimeout
        When the lock is still held by another process after ``timeout`` seconds.
    """
    locks = home / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / f"{check_name(name)}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(timeout, 0.0)
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"dataset {name!r} is locked by another build "
                        f"(waited {timeout:g} s)",
                        where=str(path),
                        fix="wait for the other build to finish, or raise the lock timeout",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def temp_owner_pid(entry_name: str) -> int | None:
    """Return the pid encoded in a temporary entry name, or None if it is not one."""
    match = _TEMP_RE.match(entry_name)
    return int(match.group(1)) if match else None


def is_temporary(entry_name: str) -> bool:
    """Tell whether a folder entry is a temporary (staging dir or temp file)."""
    return temp_owner_pid(entry_name) is not None


def pid_alive(pid: int) -> bool:
    """Tell whether a process with this pid exists (zombies count as dead)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def clean_stale(folder: Path) -> list[str]:
    """Remove temporary entries of dead processes from ``folder``.

    Parameters
    ----------
    folder : pathlib.Path
        A dataset folder (or any folder holding ledger temporaries).

    Returns
    -------
    list of str
        Names of the entries removed.
    """
    removed: list[str] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        pid = temp_owner_pid(entry.name)
        if pid is None or pid_alive(pid):
            continue
        claimed = folder / new_temp_name("stale")
        try:  # claim it first, so that concurrent cleaners never collide
            os.rename(entry, claimed)
        except FileNotFoundError:
            continue  # another process claimed it first
        fault_point("stale.after_claim")
        try:
            if claimed.is_dir() and not claimed.is_symlink():
                shutil.rmtree(claimed)
            else:
                claimed.unlink()
        except OSError as exc:
            raise LedgerError(
                f"cannot remove stale temporary entry ({exc.strerror})",
                where=str(entry),
                fix="check the permissions of the ledger folder",
            ) from None
        removed.append(entry.name)
    return removed


def make_readonly(folder: Path) -> None:
    """Mark every file under ``folder`` read-only (folders stay writable)."""
    for root, _dirs, files in os.walk(folder):
        for fname in files:
            os.chmod(os.path.join(root, fname), 0o444)
