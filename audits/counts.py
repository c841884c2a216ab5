"""Mergeable grouped counts in one streaming pass (the "counts first" engine).

Every classification fairness metric is a function of per-group confusion
counts, and every regression metric here of per-group sums. This module
computes those counts in a single pass over Arrow record batches: each
sensitive column is encoded to integer codes against a growing dictionary,
label and prediction are folded into a cell index, and one ``np.bincount``
per feature and batch adds the batch into an accumulator. Declared
intersections (``race&sex``) are counted over every combination of the
observed values of their members, so an empty intersection is reported
with ``n = 0``, never invented or dropped. Missing sensitive values form the
group ``"(missing)"``. Counts of partitions merge by addition (``a + b``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from audits._batches import DEFAULT_BATCH_SIZE, iter_batches
from audits._encode import BinaryColumn, Dictionary, group_order, sort_key
from pipelines.errors import ArgumentError, DataError

__all__ = [
    "Task",
    "level_positions",
    "GroupCounts",
    "Counts",
    "count_confusion",
    "count_labels",
    "count_groups",
    "CONFUSION_CELLS",
]

Task = Literal["binary", "labels", "multiclass", "regression"]
#: Column order of :meth:`GroupCounts.confusion`.
CONFUSION_CELLS = ("tp", "fp", "tn", "fn")
_BIN = ("0", "1")
_REG_STATS = ("n", "sum_w", "pred", "label", "abs_err", "sq_err")


@dataclass(frozen=True)
class GroupCounts:
    """Counts of one sensitive feature or one intersection of features.

    Attributes
    ----------
    members : tuple of str
        The sensitive columns (one, or several for an intersection).
    levels : tuple of tuple of str
        Sorted group labels of each member (``"(missing)"`` last).
    table : numpy.ndarray
        Shape ``(*member sizes, *cell sizes, n_stats)``. For a binary task the
        cell axes are (label, prediction) in {0, 1}; statistic 0 is the row
        count, statistic 1 (when weighted) the sum of weights.
    """

    members: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    table: np.ndarray

    @property
    def feature(self) -> str:
        """The feature name (``"race&sex"`` for an intersection)."""
        return "&".join(self.members)

    @property
    def groups(self) -> tuple[str, ...]:
        """Group labels, flattened (``"African-American&Male"`` for an intersection)."""
        return tuple("&".join(parts) for parts in itertools.product(*self.levels))

    def flat(self) -> np.ndarray:
        """Return the table with member axes flattened to one group axis."""
        n_groups = int(np.prod([len(level) for level in self.levels]))
        return self.table.reshape((n_groups, *self.table.shape[len(self.members) :]))


@dataclass(frozen=True)
class Counts:
    """Grouped counts of every sensitive feature and intersection; merge with ``+``.

    Attributes
    ----------
    task : {"binary", "labels", "multiclass", "regression"}
        What was counted.
    cell_levels : tuple of tuple of str
        Labels of the cell axes (binary: label and prediction ``("0", "1")``;
        labels: ``("0", "1")``; multiclass: the classes twice; regression: none).
    stats : tuple of str
        Names of the last axis: ``("n",)``, ``("n", "w")`` or the regression sums.
    features : tuple of GroupCounts
        One entry per sensitive feature, then one per intersection.
    """

    task: Task
    cell_levels: tuple[tuple[str, ...], ...]
    stats: tuple[str, ...]
    features: tuple[GroupCounts, ...]

    @property
    def weighted(self) -> bool:
        """True when the counts carry sample-weight sums."""
        return "w" in self.stats

    def feature(self, name: str) -> GroupCounts:
        """Return the counts of feature ``name`` (``"a&b"`` for an intersection)."""
        for item in self.features:
            if item.feature == name:
                return item
        raise KeyError(name)

    def overall(self) -> np.ndarray:
        """Return the overall table, shape ``(*cell sizes, n_stats)``."""
        first = self.features[0]
        return first.table.sum(axis=tuple(range(len(first.members))))

    def __add__(self, other: Counts) -> Counts:
        """Merge the counts of two partitions (groups aligned by label)."""
        if (self.task, self.stats, [f.feature for f in self.features]) != (
            other.task,
            other.stats,
            [f.feature for f in other.features],
        ):
            raise ArgumentError(
                "cannot merge counts of different tasks, weights or features",
                fix="count every partition with the same arguments",
            )
        pairs = zip(self.cell_levels, other.cell_levels, strict=True)
        cells = tuple(_union(a, b) for a, b in pairs)
        merged = []
        for mine, theirs in zip(self.features, other.features, strict=True):
            levels = tuple(_union(a, b) for a, b in zip(mine.levels, theirs.levels, strict=True))
            target = levels + cells
            table = _align(mine.table, mine.levels + self.cell_levels, target)
            table += _align(theirs.table, theirs.levels + other.cell_levels, target)
            merged.append(GroupCounts(mine.members, levels, table))
        return Counts(self.task, cells, self.stats, tuple(merged))

    merge = __add__


def _union(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(a) | set(b), key=sort_key))


def level_positions(levels: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """Return the position in ``target`` of each of ``levels`` (a dict, not ``list.index``).

    ``tuple.index`` per level is quadratic: 100,000 groups took minutes.
    """
    where = {x: i for i, x in enumerate(target)}
    return np.array([where[x] for x in levels], dtype=np.int64)


def _align(
    table: np.ndarray, levels: tuple[tuple[str, ...], ...], target: tuple[tuple[str, ...], ...]
) -> np.ndarray:
    shape = tuple(len(t) for t in target) + table.shape[len(levels) :]
    out = np.zeros(shape, dtype=np.result_type(table.dtype, np.int64))
    index = [level_positions(lv, t) for lv, t in zip(levels, target, strict=True)]
    index += [np.arange(n) for n in table.shape[len(levels) :]]
    out[np.ix_(*index)] = table
    return out


class _Accumulator:
    """Counts over the product of growing member dictionaries and fixed/growing cell axes."""

    def __init__(self, dims: list[Dictionary | int], n_stats: int, dtype: type) -> None:
        self.dims = dims
        sizes = [0 if isinstance(d, Dictionary) else d for d in dims]
        self.table: np.ndarray = np.zeros([*sizes, n_stats], dtype=dtype)

    def _shape(self) -> tuple[int, ...]:
        return tuple(len(d) if isinstance(d, Dictionary) else d for d in self.dims)

    def add(self, codes: list[np.ndarray], stats: list[np.ndarray | None]) -> None:
        shape = self._shape()
        flat = np.ravel_multi_index(tuple(codes), shape) if len(codes) > 1 else codes[0]
        size = int(np.prod(shape))
        parts = [np.bincount(flat, weights=w, minlength=size) for w in stats]
        batch = np.stack(parts, axis=-1).reshape((*shape, len(stats)))
        old_shape = self.table.shape[:-1]
        grow = [(0, new - old) for new, old in zip(shape, old_shape, strict=True)] + [(0, 0)]
        if any(g[1] for g in grow):
            self.table = np.pad(self.table, grow)
        self.table += batch.astype(self.table.dtype, copy=False)


def _finish_feature(members: tuple[str, ...], acc: _Accumulator) -> GroupCounts:
    table = acc.table
    levels = []
    for axis, _member in enumerate(members):
        dictionary = acc.dims[axis]
        assert isinstance(dictionary, Dictionary)
        order = group_order(dictionary.labels)
        table = np.take(table, order, axis=axis)
        levels.append(tuple(dictionary.labels[i] for i in order))
    return GroupCounts(members, tuple(levels), table)


def _check_features(sensitive: Sequence[str], intersections: Sequence[Sequence[str]]) -> None:
    if not sensitive:
        raise ArgumentError("no sensitive feature given", fix="name at least one sensitive column")
    for inter in intersections:
        unknown = [m for m in inter if m not in sensitive]
        if len(inter) < 2 or unknown:
            raise ArgumentError(
                f"intersection {'&'.join(inter)!s} must join two or more sensitive features",
                where="intersections",
                fix=f"use features from: {', '.join(sensitive)}",
            )


def _weights(column: pa.Array, name: str) -> np.ndarray:
    if column.null_count:
        raise DataError(
            f"weight column '{name}' has {column.null_count} null values",
            where=name,
            fix="fill the missing weights",
        )
    try:
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"weight column '{name}' is not numeric", where=name, fix="pass numeric weights"
        ) from None


class _Outcome:
    """Fold label (and prediction) into cell codes and statistics for one task."""

    def __init__(self, task: Task, label: str, prediction: str | None, pos_label: Any) -> None:
        self.task = task
        self.label = label
        self.prediction = prediction
        self.classes = Dictionary()
        self.checks = [BinaryColumn(label, pos_label)]
        if prediction is not None:
            self.checks.append(BinaryColumn(prediction, pos_label))

    def cell_dims(self) -> list[Dictionary | int]:
        if self.task == "multiclass":
            return [self.classes, self.classes]
        fixed: dict[str, list[Dictionary | int]] = {"binary": [2, 2], "labels": [2],
                                                    "regression": []}
        return fixed[self.task]

    def codes(self, batch: pa.RecordBatch) -> tuple[list[np.ndarray], np.ndarray | None, list]:
        """Return cell codes, a validity mask and (regression) the value columns."""
        names = [self.label] if self.prediction is None else [self.label, self.prediction]
        if self.task == "multiclass":
            return [self.classes.encode(batch.column(n)) for n in names], None, []
        if self.task == "regression":
            values = [_numeric(batch.column(n), n) for n in names]
            return [], None, values
        encoded = [c.encode(batch.column(n)) for c, n in zip(self.checks, names, strict=True)]
        masks = [valid for _, valid in encoded if valid is not None]
        valid = np.logical_and.reduce(masks) if masks else None
        return [codes for codes, _ in encoded], valid, []

    def finish(self) -> tuple[tuple[str, ...], ...]:
        if self.task in ("binary", "labels"):
            for check in self.checks:
                check.finish()
        if self.task == "multiclass":
            return (tuple(self.classes.labels),) * 2
        return {"binary": (_BIN, _BIN), "labels": (_BIN,), "regression": ()}[self.task]


def _numeric(column: pa.Array, name: str) -> np.ndarray:
    if column.null_count:
        raise DataError(
            f"column '{name}' has {column.null_count} null values",
            where=name,
            fix="drop or fill the rows with a missing value before auditing",
        )
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise DataError(
            f"column '{name}' is not numeric ({column.type})",
            where=name,
            fix="pass a numeric regression target and prediction",
        )
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _stats(task: Task, w: np.ndarray | None, values: list[np.ndarray]) -> list[np.ndarray | None]:
    if task != "regression":
        return [None] if w is None else [None, w]
    y, p = values
    ones = np.ones_like(y) if w is None else w
    err = y - p
    return [None, ones, ones * p, ones * y, ones * np.abs(err), ones * err * err]


def count_groups(
    source: Any,
    *,
    task: Task,
    label: str,
    prediction: str | None,
    sensitive: Sequence[str],
    intersections: Sequence[Sequence[str]] = (),
    weight: str | None = None,
    pos_label: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Counts:
    """Count rows per group of every sensitive feature and intersection in one pass.

    Parameters
    ----------
    source : pyarrow.Table, iterable of RecordBatch, pandas.DataFrame, str or Path
        The predictions (a path must be CSV or Parquet).
    task : {"binary", "labels", "multiclass", "regression"}
        ``binary``: confusion counts; ``labels``: label counts only (no prediction);
        ``multiclass``: full confusion matrix per group; ``regression``: sums.
    label, prediction : str
        Column names (``prediction`` is None for ``task="labels"``).
    sensitive : sequence of str
        Sensitive columns.
    intersections : sequence of sequence of str
        Intersections to count, each made of two or more sensitive columns.
    weight : str, optional
        A sample-weight column.
    pos_label : object, optional
        The positive value of a binary label/prediction (default: 1 or True).
    batch_size : int
        Rows per record batch.

    Returns
    -------
    Counts
        Mergeable counts.

    Raises
    ------
    DataError
        Missing column, non-binary or null label/prediction, bad weights.
    ArgumentError
        No sensitive feature, or an intersection of unknown features.
    """
    sensitive = list(dict.fromkeys(sensitive))
    inters = [tuple(i) for i in intersections]
    _check_features(sensitive, inters)
    outcome = _Outcome(task, label, prediction, pos_label)
    dicts = {name: Dictionary() for name in sensitive}
    members = [(name,) for name in sensitive] + inters
    weighted = weight is not None and task != "regression"
    n_stats = 6 if task == "regression" else 1 + int(weighted)
    dtype: type = np.float64 if (weighted or task == "regression") else np.int64
    accs = [_Accumulator([*(dicts[m] for m in mem), *outcome.cell_dims()], n_stats, dtype)
            for mem in members]
    columns = list(dict.fromkeys([label] + ([prediction] if prediction else []) + sensitive
                                 + ([weight] if weight else [])))
    for batch in iter_batches(source, columns, batch_size=batch_size, dictionary=sensitive):
        cells, valid, values = outcome.codes(batch)
        w = _weights(batch.column(weight), weight) if weight else None
        codes = {name: dicts[name].encode(batch.column(name)) for name in sensitive}
        stats = _stats(task, w, values)
        if valid is not None:
            cells = [c[valid] for c in cells]
            codes = {k: v[valid] for k, v in codes.items()}
            stats = [None if s is None else s[valid] for s in stats]
        for mem, acc in zip(members, accs, strict=True):
            acc.add([codes[m] for m in mem] + cells, stats)
    cell_levels = outcome.finish()
    if task == "multiclass":
        cell_levels, accs = _sort_classes(outcome.classes, accs, len(sensitive), inters)
    stat_names = _REG_STATS if task == "regression" else ("n", "w")[:n_stats]
    features = tuple(_finish_feature(mem, acc) for mem, acc in zip(members, accs, strict=True))
    return Counts(task, cell_levels, stat_names, features)


def _sort_classes(
    classes: Dictionary, accs: list[_Accumulator], n_single: int, inters: list[tuple[str, ...]]
) -> tuple[tuple[tuple[str, ...], ...], list[_Accumulator]]:
    order = group_order(classes.labels)
    for acc, n_members in zip(accs, [1] * n_single + [len(i) for i in inters], strict=True):
        acc.table = np.take(np.take(acc.table, order, axis=n_members), order, axis=n_members + 1)
    labels = tuple(classes.labels[i] for i in order)
    return (labels, labels), accs


def count_confusion(
    source: Any,
    *,
    label: str,
    prediction: str,
    sensitive: Sequence[str],
    intersections: Sequence[Sequence[str]] = (),
    weight: str | None = None,
    pos_label: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Counts:
    """Count confusion cells (tp, fp, tn, fn) per group, in one streaming pass.

    See :func:`count_groups` (``task="binary"``) for the parameters.

    Returns
    -------
    Counts
        Mergeable binary confusion counts; :meth:`GroupCounts.flat` gives
        ``(groups, label, prediction, stats)``.
    """
    return count_groups(
        source, task="binary", label=label, prediction=prediction, sensitive=sensitive,
        intersections=intersections, weight=weight, pos_label=pos_label, batch_size=batch_size,
    )


def count_labels(
    source: Any,
    *,
    label: str,
    sensitive: Sequence[str],
    intersections: Sequence[Sequence[str]] = (),
    weight: str | None = None,
    pos_label: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Counts:
    """Count positive and negative labels per group (for base rates of a dataset).

    See :func:`count_groups` (``task="labels"``) for the parameters.

    Returns
    -------
    Counts
        Mergeable label counts; :meth:`GroupCounts.flat` gives ``(groups, label, stats)``.
    """
    return count_groups(
        source, task="labels", label=label, prediction=None, sensitive=sensitive,
        intersections=intersections, weight=weight, pos_label=pos_label, batch_size=batch_size,
    )
