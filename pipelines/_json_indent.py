"""Indent compact JSON text exactly as ``json.dumps(indent=2)`` would, in bulk.

``json.dumps`` only uses its C encoder without ``indent``; with it, the pure
Python encoder costs about a microsecond per value, minutes for a 200 MB
``result.json``. The indented text, though, is the compact text of the C
encoder with separators ``(",", ": ")`` plus a newline and indentation after
every ``[``, ``{`` and ``,`` and before every ``]`` and ``}`` outside strings,
empty ``[]`` and ``{}`` excepted. JSON text never holds a raw newline inside a
string (the encoder escapes it), so the structural characters can be found
with array operations once escaped quotes and backslashes are masked out
(:func:`indent_compact`), a few megabytes at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["indent_compact", "CHUNK_BYTES"]

#: Bytes of compact text processed per step (bounds the temporary arrays).
CHUNK_BYTES = 4 << 20

_QUOTE, _COMMA, _NL, _SPACE = ord('"'), ord(","), ord("\n"), ord(" ")
_OPENS = (ord("{"), ord("["))
_CLOSES = (ord("}"), ord("]"))


def _structure(masked: np.ndarray, parity: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Return positions and kinds (+1 open, -1 close, 0 comma) of structural bytes.

    ``parity`` is 1 when the chunk starts inside a string; the new parity is returned.
    """
    quotes = masked == _QUOTE
    inside = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ np.uint8(parity)
    out = inside == 0
    opens = ((masked == _OPENS[0]) | (masked == _OPENS[1])) & out
    closes = ((masked == _CLOSES[0]) | (masked == _CLOSES[1])) & out
    commas = (masked == _COMMA) & out
    where = np.flatnonzero(opens | closes | commas)
    kinds = opens[where].astype(np.int8) - closes[where].astype(np.int8)
    return where, kinds, int(inside[-1]) if len(inside) else parity


def _insertions(where: np.ndarray, kinds: np.ndarray, depth: int, prev_open: bool,
                next_close: bool, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Return insertion points (insert before that index) and indentation levels.

    ``prev_open``: the byte before the chunk is an open bracket; ``next_close``:
    the byte after the chunk is a close bracket (for empty containers across
    chunk edges). Returns the depth after the chunk too.
    """
    after = depth + np.cumsum(kinds, dtype=np.int64)
    before = after - kinds
    is_open, is_close = kinds == 1, kinds == -1
    # An empty container is an open immediately followed by a close: no insertion.
    follows_open = np.zeros(len(where), dtype=bool)
    follows_open[1:] = is_open[:-1] & (where[1:] == where[:-1] + 1)
    if len(where) and where[0] == 0 and prev_open:
        follows_open[0] = True
    precedes_close = np.zeros(len(where), dtype=bool)
    precedes_close[:-1] = is_close[1:] & (where[1:] == where[:-1] + 1)
    if len(where) and where[-1] == size - 1 and next_close:
        precedes_close[-1] = True
    keep_open = is_open & ~precedes_close
    keep_close = is_close & ~follows_open
    keep_comma = kinds == 0
    points = np.concatenate([where[keep_open] + 1, where[keep_close], where[keep_comma] + 1])
    levels = np.concatenate([after[keep_open], after[keep_close], before[keep_comma]])
    order = np.argsort(points, kind="stable")
    return points[order], levels[order], int(after[-1]) if len(after) else depth


def _expand(chunk: np.ndarray, points: np.ndarray, levels: np.ndarray,
            width: int) -> bytes:
    """Insert a newline and ``width * level`` spaces before each of ``points`` in ``chunk``."""
    lengths = 1 + width * levels
    if not len(points):
        return chunk.tobytes()
    shift = np.zeros(len(chunk) + 1, dtype=np.int64)
    np.add.at(shift, points, lengths)  # points are distinct; add.at keeps it safe anyway
    offsets = np.cumsum(shift)
    out = np.full(len(chunk) + int(lengths.sum()), _SPACE, dtype=np.uint8)
    out[np.arange(len(chunk)) + offsets[:-1]] = chunk
    starts = points + offsets[points] - lengths
    out[starts] = _NL
    return out.tobytes()


def indent_compact(compact: bytes, *, width: int = 2, chunk: int | None = None) -> bytes:
    """Indent UTF-8 JSON text written with separators ``(",", ": ")``.

    Parameters
    ----------
    compact : bytes
        Output of ``json.dumps(obj, separators=(",", ": "), ...)`` encoded as
        UTF-8 (any ``sort_keys``/``ensure_ascii``).
    width : int
        Spaces per level (``indent=`` of ``json.dumps``).
    chunk : int, optional
        Bytes per step (default :data:`CHUNK_BYTES`); any value gives the same text.

    Returns
    -------
    bytes
        The same text as ``json.dumps(obj, indent=width, ...)`` with those options.
    """
    # Mask escapes: after "\\\\" -> "__" and '\\"' -> "__", every '"' left delimits a string.
    masked_all = np.frombuffer(compact.replace(b"\\\\", b"__").replace(b'\\"', b"__"),
                               dtype=np.uint8)
    raw = np.frombuffer(compact, dtype=np.uint8)
    step = max(1, int(chunk or CHUNK_BYTES))
    parts: list[bytes] = []
    parity, depth = 0, 0
    for start in range(0, len(raw), step):
        stop = min(start + step, len(raw))
        where, kinds, new_parity = _structure(masked_all[start:stop], parity)
        prev_open = start > 0 and parity == 0 and int(raw[start - 1]) in _OPENS
        next_close = stop < len(raw) and new_parity == 0 and int(raw[stop]) in _CLOSES
        points, levels, depth = _insertions(where, kinds, depth, prev_open, next_close,
                                            stop - start)
        parts.append(_expand(raw[start:stop], points, levels, width))
        parity = new_parity
    return b"".join(parts)
