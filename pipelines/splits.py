"""Deterministic, seeded, stratified train/test splits that work on a stream.

Method (``permuted_blocks/1``): permuted-block randomisation per stratum, as
in clinical-trial allocation. Rows of one stratum (one combination of the
``stratify`` columns' values) are numbered 0, 1, 2, ... in arrival order and
grouped into blocks of ``B`` rows. In every block exactly
``round(B * test_fraction)`` positions are test rows, chosen by a random
permutation that depends only on ``(seed, stratum, block number)``. Hence:

* the assignment of a row depends only on the seed, its stratum and its rank
  within the stratum, never on how the rows were batched, so the same data
  and seed always give the same split, with no total size known in advance;
* every stratum's test share is exact on full blocks and within ``B`` rows of
  the target overall (``1/B``-close in share for large strata).

For speed, permutations are drawn for ``M`` consecutive blocks at once (a
*superblock*, one NumPy generator per ``(seed, stratum, superblock)``), and a
batch is assigned with one vectorised gather per stratum present in it.
Stratum keys are the string forms of the values (nulls are a key of their
own), hashed with BLAKE2b, never Python's salted ``hash()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import ArgumentError, DataError

__all__ = ["StreamSplitter", "SPLIT_METHOD"]

#: Name and revision of the method, stored in every split definition.
SPLIT_METHOD = "permuted_blocks/1"


def _stratum_hash(key: Sequence[str | None]) -> int:
    text = json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _dense_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (sorted unique codes, index of each row's code), like ``np.unique``."""
    top = int(codes.max()) + 1 if len(codes) else 0
    if top > 1 << 20:
        uniq, inverse = np.unique(codes, return_inverse=True)
        return uniq, inverse.reshape(-1)
    present = np.bincount(codes, minlength=top) > 0
    lookup = np.cumsum(present) - 1
    return np.flatnonzero(present), lookup[codes]


class StreamSplitter:
    """Assign streamed rows to train or test, seeded and stratified.

    Parameters
    ----------
    test_fraction : float
        Target share of test rows, in ``[0, 1]``.
    seed : int
        Non-negative seed; the same seed gives the same split.
    stratify : sequence of str
        Columns whose value combinations form the strata (may be empty).
    block_size : int
        Rows per permuted block ``B`` (default 100).
    superblock : int
        Blocks drawn per generator ``M`` (default 256); part of the definition.
    """

    def __init__(self, *, test_fraction: float, seed: int, stratify: Sequence[str] = (),
                 block_size: int = 100, superblock: int = 256) -> None:
        if not 0.0 <= float(test_fraction) <= 1.0:
            raise ArgumentError(f"test_fraction {test_fraction!r} is outside [0, 1]",
                                where="split.test_fraction", fix="use a value such as 0.2")
        if int(seed) < 0:
            raise ArgumentError(f"seed {seed!r} is negative", where="split.seed",
                                fix="use a non-negative integer")
        if block_size < 1 or superblock < 1:
            raise ArgumentError("block_size and superblock must be positive",
                                where="split", fix="use the defaults (100 and 256)")
        self.test_fraction = float(test_fraction)
        self.seed = int(seed)
        self.stratify = list(stratify)
        self.block_size = int(block_size)
        self.superblock = int(superblock)
        self._per_block = int(round(self.block_size * self.test_fraction))
        self._seen: dict[int, int] = {}
        self._masks: dict[int, tuple[int, np.ndarray]] = {}

    def split_definition(self) -> dict[str, Any]:
        """Return the parameters that define the split (stored in the manifest)."""
        return {
            "method": SPLIT_METHOD,
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "stratify": list(self.stratify),
            "block_size": self.block_size,
            "superblock": self.superblock,
            "stratum_hash": "blake2b-64 of JSON list of string values (null = null)",
        }

    def _superblock_mask(self, stratum: int, index: int) -> np.ndarray:
        cached = self._masks.get(stratum)
        if cached is not None and cached[0] == index:
            return cached[1]
        rng = np.random.default_rng([self.seed, stratum, index])
        perm = np.argsort(rng.random((self.superblock, self.block_size)), axis=1)
        mask2d = np.zeros((self.superblock, self.block_size), dtype=bool)
        np.put_along_axis(mask2d, perm[:, :self._per_block], True, axis=1)
        mask = mask2d.reshape(-1)
        self._masks[stratum] = (index, mask)
        return mask

    def _groups(self, batch: pa.RecordBatch) -> tuple[np.ndarray, list[int]]:
        """Per-row group index and each group's stable stratum hash."""
        n = batch.num_rows
        if not self.stratify:
            return np.zeros(n, dtype=np.int16), [_stratum_hash([])]
        codes = np.zeros(n, dtype=np.int64)
        values: list[list[str | None]] = []
        for name in self.stratify:
            if name not in batch.schema.names:
                raise DataError(f"stratify column {name!r} is not in the data",
                                where="split.stratify",
                                fix=f"use one of: {', '.join(batch.schema.names)}")
            col = batch.column(name)
            if pa.types.is_dictionary(col.type):
                col = col.dictionary_decode()
            enc = pc.dictionary_encode(col, null_encoding="encode")
            idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            dictionary = enc.dictionary.cast(pa.string()).to_pylist()
            codes = codes * max(len(dictionary), 1) + idx
            values.append(dictionary)
        uniq, inverse = _dense_codes(codes)
        hashes = []
        for code in uniq.tolist():
            key: list[str | None] = []
            for dictionary in reversed(values):
                code, i = divmod(code, max(len(dictionary), 1))
                key.append(dictionary[i])
            hashes.append(_stratum_hash(key[::-1]))
        small = np.int16 if len(hashes) < (1 << 15) else np.int64  # int16 sorts by radix
        return inverse.reshape(-1).astype(small), hashes

    def assign(self, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        """Assign the next rows of the stream.

        Parameters
        ----------
        batch : pyarrow.RecordBatch or pyarrow.Table
            The next rows, in stream order.

        Returns
        -------
        numpy.ndarray
            Boolean array, one per row: True for test, False for train.
        """
        out = np.zeros(batch.num_rows, dtype=bool)
        if batch.num_rows == 0:
            return out
        group, hashes = self._groups(batch)
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(hashes) + 1))
        span = self.superblock * self.block_size
        for g, stratum in enumerate(hashes):
            rows = order[bounds[g]:bounds[g + 1]]
            start = self._seen.get(stratum, 0)
            rank = start + np.arange(len(rows), dtype=np.int64)
            self._seen[stratum] = start + len(rows)
            sblock = rank // span
            for sb in range(int(sblock[0]), int(sblock[-1]) + 1):
                sel = sblock == sb
                out[rows[sel]] = self._superblock_mask(stratum, sb)[rank[sel] - sb * span]
        return out
