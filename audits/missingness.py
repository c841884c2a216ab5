"""Missingness by group: the share of missing values of each column in each group.

If one group's records are more often incomplete, a model trained on the
complete rows under-serves that group, and imputation treats it differently.
This module counts nulls (and float NaN) per column per group of each
sensitive feature in one streaming pass, and reports for each column the
overall missing share, the share per group, and the largest gap between
groups with at least ``min_group_size`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audits.proxies import _grow_add

__all__ = ["MissingnessAccumulator"]


def _null_mask(column: pa.Array) -> np.ndarray:
    if pa.types.is_floating(column.type):
        mask = pc.is_null(column, nan_is_null=True)
    elif column.null_count == 0:
        return np.zeros(len(column), dtype=bool)
    else:
        mask = pc.is_null(column)
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


class MissingnessAccumulator:
    """Streaming null counts per column and group.

    Parameters
    ----------
    columns : sequence of str
        Columns whose missingness is counted.
    sensitive : sequence of str
        Sensitive features (a feature's own column is not counted against itself).
    """

    def __init__(self, columns: Sequence[str], sensitive: Sequence[str]) -> None:
        self.columns = list(columns)
        self.sensitive = list(sensitive)
        self._rows: dict[str, np.ndarray] = {s: np.zeros(0) for s in self.sensitive}
        self._nulls: dict[tuple[str, str], np.ndarray] = {}

    def add(self, batch: pa.RecordBatch, codes: Mapping[str, np.ndarray],
            sizes: Mapping[str, int]) -> None:
        """Add one batch, given the group codes of each sensitive feature and their sizes."""
        for s in self.sensitive:
            self._rows[s] = _grow_add(self._rows[s], np.bincount(codes[s], minlength=sizes[s]))
        for name in self.columns:
            mask = _null_mask(batch.column(name))
            if not mask.any() and all((name, s) in self._nulls for s in self.sensitive):
                continue
            for s in self.sensitive:
                if s == name:
                    continue
                part = np.bincount(codes[s][mask], minlength=sizes[s])
                self._nulls[(name, s)] = _grow_add(self._nulls.get((name, s), np.zeros(0)), part)

    def result(self, labels: Mapping[str, Sequence[str]], min_group_size: int
               ) -> list[dict[str, Any]]:
        """Return per column: overall share and, per feature, group shares and the largest gap.

        Parameters
        ----------
        labels : mapping of str to sequence of str
            Group label of each code, per sensitive feature.
        min_group_size : int
            Groups with fewer rows are listed but left out of the gap.

        Returns
        -------
        list of dict
            ``{"column", "missing", "share", "features": {feature: {"groups": [...],
            "max_difference", "between": [low group, high group]}}}``.
        """
        out = []
        for name in self.columns:
            feats: dict[str, Any] = {}
            missing = None
            for s in self.sensitive:
                if s == name:
                    continue
                rows = self._rows[s]
                nulls = np.pad(self._nulls.get((name, s), np.zeros(0)),
                               (0, rows.size - self._nulls.get((name, s), np.zeros(0)).size))
                missing = int(nulls.sum())
                feats[s] = _feature_gap(list(labels[s]), rows, nulls, min_group_size)
            total = int(self._rows[self.sensitive[0]].sum())
            if missing is None:
                continue
            out.append({"column": name, "missing": missing,
                        "share": missing / total if total else None, "features": feats})
        return out


def _feature_gap(labels: list[str], rows: np.ndarray, nulls: np.ndarray,
                 min_group_size: int) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for label, n, k in zip(labels, rows, nulls, strict=False):
        groups.append({"group": label, "n": int(n), "missing": int(k),
                       "share": float(k / n) if n else None, "small": bool(n < min_group_size)})
    big = [(float(g["share"]), str(g["group"])) for g in groups
           if not g["small"] and g["share"] is not None]
    if len(big) < 2:
        return {"groups": groups, "max_difference": None,
                "reason": f"fewer than two groups with at least {min_group_size} rows"}
    low, high = min(big), max(big)
    return {"groups": groups, "max_difference": high[0] - low[0], "between": [low[1], high[1]]}
