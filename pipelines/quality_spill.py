"""Row hashes of a uniqueness check, kept in memory or spilled to disk by hash prefix.

The gate finds duplicate candidates by hashing every row of a uniqueness
expectation's columns to 64 bits (see :mod:`pipelines.quality_run`). Holding
those hashes for the whole table costs 8 bytes a row, and sorting them twice
that, which grows with the source. :class:`HashStore` keeps them in memory
for small tables only; for larger ones it appends ``(hash, row position)``
pairs to ``2**k`` files chosen by the top ``k`` bits of the hash, so that
equal hashes always share a file, then reads and sorts one file at a time.
Peak memory is then one partition (about :data:`PARTITION_ROWS` rows of 16
bytes) plus the candidates, whatever the row count; the candidates (rows
whose hash occurs more than once) are exactly the same as with everything in
memory.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["HashStore", "SPILL_ROWS", "PARTITION_ROWS", "MAX_PARTITIONS", "partition_bits"]

#: Tables with more rows than this spill their hashes to disk.
SPILL_ROWS = 1 << 21
#: Target rows per spilled partition (16 bytes each).
PARTITION_ROWS = 1 << 20
#: Most partition files per uniqueness check.
MAX_PARTITIONS = 1 << 10
_PAIR = np.dtype([("hash", "<u8"), ("row", "<i8")])


def partition_bits(num_rows: int) -> int:
    """Return ``k``: ``2**k`` partitions of about :data:`PARTITION_ROWS` rows (0 = in memory)."""
    if num_rows <= SPILL_ROWS:
        return 0
    parts = min(MAX_PARTITIONS, -(-num_rows // PARTITION_ROWS))
    return max(1, int(parts - 1).bit_length())


def _repeated(hashes: np.ndarray) -> np.ndarray:
    """Return a mask of the entries of ``hashes`` whose value occurs more than once."""
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    same = ordered[1:] == ordered[:-1]
    dup = np.zeros(len(hashes), dtype=bool)
    dup[1:] |= same
    dup[:-1] |= same
    mask = np.zeros(len(hashes), dtype=bool)
    mask[order] = dup
    return mask


class HashStore:
    """``(hash, row)`` pairs of one uniqueness check, in memory or in partition files.

    Parameters
    ----------
    num_rows : int
        Rows of the table (chooses the number of partitions).
    folder : pathlib.Path, optional
        Where the partition files go (a private subfolder, removed by
        :meth:`close`); the system temporary folder when None.
    """

    def __init__(self, num_rows: int, folder: Path | None = None) -> None:
        self.bits = partition_bits(num_rows)
        self._memory: list[np.ndarray] = []
        self._dir: Path | None = None
        if self.bits:
            if folder is not None:
                Path(folder).mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix=".tmp-gate-hashes-", dir=folder))

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Append the hashes of some rows and their positions in the table."""
        pairs = np.empty(len(hashes), dtype=_PAIR)
        pairs["hash"] = hashes
        pairs["row"] = rows
        if self._dir is None:
            self._memory.append(pairs)
            return
        part = (pairs["hash"] >> np.uint64(64 - self.bits)).astype(np.int64)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange((1 << self.bits) + 1))
        ordered = pairs[order]
        for p in np.flatnonzero(np.diff(bounds)):
            with open(self._dir / f"{p:04d}.bin", "ab") as fh:
                ordered[bounds[p]:bounds[p + 1]].tofile(fh)

    def repeated_rows(self) -> np.ndarray:
        """Row positions (ascending) whose hash occurs more than once; frees the store."""
        found = []
        if self._dir is None and self._memory:
            pairs = np.concatenate(self._memory)
            self._memory = []
            found.append(pairs["row"][_repeated(pairs["hash"])])
        elif self._dir is not None:
            for path in sorted(self._dir.glob("*.bin")):
                pairs = np.fromfile(path, dtype=_PAIR)
                path.unlink()
                found.append(pairs["row"][_repeated(pairs["hash"])])
                del pairs
        self.close()
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.sort(np.concatenate(found)).astype(np.int64)

    def close(self) -> None:
        """Remove the partition files (idempotent)."""
        self._memory = []
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
