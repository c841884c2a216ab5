"""The bytes of ``result.json``: pretty JSON that carries its own file digest.

``integrity.file_sha256`` is the sha256 of the file's bytes with its own 64
hex digits read as ``0``: :func:`result_bytes` writes it, and
:mod:`pipelines.results` checks a file by hashing it once, without parsing
or re-encoding hundreds of megabytes. :func:`section` reads one top-level
value of a file known to be as written.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipelines.errors import LedgerError
from pipelines.ledger_io import pretty_json

__all__ = ["INTEGRITY_METHOD", "file_digest_offset", "file_digest", "result_bytes", "section"]

#: How a result's integrity digests are computed (part of its content, so that removing
#: ``file_sha256`` cannot pass for a result written before file digests existed).
INTEGRITY_METHOD = ("content_sha256: sha256 of the canonical JSON of the document without "
                    "'integrity'; file_sha256: sha256 of this file's bytes with the 64 hex "
                    "digits of file_sha256 replaced by '0'")
_FILE_FIELD = b'"file_sha256": "'
_ZEROS = b"0" * 64
_HEX = frozenset(b"0123456789abcdef")


def file_digest_offset(data: bytes) -> int | None:
    """Return where the 64 hex digits of ``file_sha256`` start, None unless exactly once.

    Inside a JSON string every ``"`` is escaped, so ``"file_sha256": "`` can only
    be a key followed by a string value.
    """
    at = data.find(_FILE_FIELD)
    if at < 0 or data.find(_FILE_FIELD, at + 1) >= 0:
        return None
    at += len(_FILE_FIELD)
    digits = data[at:at + 64]
    if len(digits) != 64 or not _HEX.issuperset(digits) or data[at + 64:at + 65] != b'"':
        return None
    return at


def file_digest(data: bytes, at: int) -> str:
    """Return the sha256 of ``data`` with the 64 bytes at ``at`` read as ``0``."""
    view = memoryview(data)
    digest = hashlib.sha256(view[:at])
    digest.update(_ZEROS)
    digest.update(view[at + 64:])
    return digest.hexdigest()


def result_bytes(doc: dict[str, Any]) -> bytes:
    """Return the bytes of ``result.json`` and record their ``file_sha256`` in ``doc``.

    The file is :func:`pipelines.ledger_io.pretty_json` of the document whose
    ``integrity.file_sha256`` is the sha256 of these very bytes with its own
    64 hex digits read as ``0``. ``doc["integrity"]`` is updated in place, so
    that the document in memory equals the one a reader gets from the file.

    Raises
    ------
    LedgerError
        When the document holds another ``file_sha256`` key (never in a result).
    """
    integrity = {**(doc.get("integrity") or {}), "file_sha256": _ZEROS.decode()}
    data = pretty_json({**doc, "integrity": integrity})
    at = file_digest_offset(data)
    if at is None:
        raise LedgerError("result document holds a 'file_sha256' key outside 'integrity'",
                          where="result.json",
                          fix="report this as a bug: result sections must not use that key")
    digest = file_digest(data, at)
    doc["integrity"] = {**integrity, "file_sha256": digest}
    return data[:at] + digest.encode("ascii") + data[at + 64:]


def section(raw: bytes, key: bytes) -> Any:
    """Return one top-level value of a result file as written (indent 2), {} if absent.

    Only top-level keys start a line with exactly two spaces and a quote (a
    string never holds a raw newline), so the value runs to the next such line.
    """
    start = raw.find(b'\n  "' + key + b'": ')
    if start < 0:
        return {}
    start += len(key) + 7
    end = raw.find(b'\n  "', start)
    end = raw.rfind(b"\n}", start) if end < 0 else end
    return json.loads(raw[start:end].rstrip(b","))
