"""Batched streaming inference: a model over a dataset version -> predictions.

:func:`run_inference` reads the evaluated split(s) of a version batch by
batch from Parquet (only the columns it needs), scores each batch under
``torch.inference_mode()`` with a configurable thread count, writes
``predictions.parquet`` (split, row id, score, prediction) as it goes and
returns the small table the audit needs (label, prediction, score and the
sensitive columns). Reading and encoding of the next batch overlap with
the forward pass of the current one (a one-batch read-ahead thread).
:func:`roc_auc` gives the threshold-free metric, overall and per group.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.baselines import binary_label
from pipelines.errors import ArgumentError, DataError
from pipelines.faults import fault_point

__all__ = ["DEFAULT_BATCH_ROWS", "Inference", "choose_splits", "apply_threshold",
           "run_inference", "roc_auc", "grouped_auc", "torch_threads"]

#: Rows per inference batch.
DEFAULT_BATCH_ROWS = 1 << 16
_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


@dataclass
class Inference:
    """What :func:`run_inference` produced."""

    predictions: Path
    frame: pa.Table
    rows: int
    splits: list[str]


def choose_splits(model: Any, available: Sequence[str]) -> list[str]:
    """Return the splits a model is evaluated on.

    Declared ``splits`` win. Otherwise a score column or a predictions file
    (not trained on this data) is evaluated on every split, as ProPublica
    did, and every other model on ``test`` when the version has one.

    Raises
    ------
    ArgumentError
        When a declared split is not in the version.
    """
    if model.splits:
        unknown = [s for s in model.splits if s not in available]
        if unknown:
            raise ArgumentError(f"split {unknown[0]!r} is not in the dataset version",
                                where=f"models.{model.id}.splits",
                                fix=f"use splits of the version: {', '.join(available)}")
        return list(model.splits)
    if model.kind in ("score_column", "predictions") or "test" not in available:
        return sorted(available)
    return ["test"]


def apply_threshold(scores: np.ndarray, threshold: float, direction: str) -> np.ndarray:
    """Return 0/1 predictions: 1 where ``score <direction> threshold``."""
    return _OPS[direction](scores, threshold).astype(np.int8)


@contextlib.contextmanager
def torch_threads(threads: int | None, *, needed: bool = True) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(threads)`` and inference mode.

    With ``needed=False`` (a model without torch) torch is not even imported.
    """
    if threads is not None and threads < 1:
        raise ArgumentError(f"threads must be >= 1, got {threads}", where="--threads",
                            fix="pass a positive thread count")
    if not needed:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(before)


def _read_ahead(files: list[tuple[str, Path]], columns: list[str], batch_rows: int,
                prepare: Any = None) -> Generator[tuple[str, pa.RecordBatch, Any], None, None]:
    """Yield (split, batch, prepared) while a thread reads and prepares the next batches."""
    q: queue.Queue[Any] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def produce() -> None:
        try:
            for split, path in files:
                pf = pq.ParquetFile(path)
                for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                    if stop.is_set():
                        return
                    q.put((split, batch, prepare(batch) if prepare else None))
            q.put(None)
        except BaseException as exc:  # noqa: BLE001  # handed to the consumer
            q.put(exc)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                q.get_nowait()
        worker.join()


class _Sink:
    """Write prediction batches and collect the audit frame on a background thread."""

    def __init__(self, out: Path, schema: pa.Schema, label: str, positive: Sequence[Any],
                 sensitive: Sequence[str]) -> None:
        self.schema, self.label, self.positive, self.sensitive = schema, label, positive, sensitive
        self.writer = pq.ParquetWriter(out, schema, compression="zstd")
        self.parts: list[pa.RecordBatch] = []
        self.error: BaseException | None = None
        self.q: queue.Queue[Any] = queue.Queue(maxsize=4)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.q.get()) is not None:
            if self.error is not None:
                continue
            try:
                self._write(*item)
            except BaseException as exc:  # noqa: BLE001  # re-raised by close()
                self.error = exc

    def _write(self, split: str, batch: pa.RecordBatch, ids: Any, scores: np.ndarray,
               pred: np.ndarray) -> None:
        n = batch.num_rows
        self.writer.write_batch(pa.record_batch(
            [pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), [split]).cast(
                pa.string()), ids, pa.array(scores), pa.array(pred)], schema=self.schema))
        y = binary_label(batch.column(self.label), self.positive, f"label {self.label}")
        self.parts.append(pa.record_batch(
            [pa.array(y), pa.array(pred), pa.array(scores),
             *[batch.column(s) for s in self.sensitive]],
            names=["label", "prediction", "score", *self.sensitive]))

    def put(self, *item: Any) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(item)

    def close(self) -> pa.Table:
        self.q.put(None)
        self.thread.join()
        self.writer.close()
        if self.error is not None:
            raise self.error
        return pa.Table.from_batches(self.parts) if self.parts else pa.table({})


def _check_columns(files: list[tuple[str, Path]], columns: list[str]) -> None:
    for _split, path in files:
        names = pq.read_schema(path).names
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(f"column '{missing[0]}' is not in the dataset version",
                            where=str(path), fix=f"use columns of the dataset: {', '.join(names)}")


def run_inference(scorer: Any, files: list[tuple[str, Path]], out: Path, *, label: str,
                  positive: Sequence[Any], sensitive: Sequence[str], id_column: str | None,
                  threshold: float, direction: str, threads: int | None = None,
                  batch_rows: int = DEFAULT_BATCH_ROWS) -> Inference:
    """Score every row of the given split files and write ``out`` (predictions.parquet).

    Parameters
    ----------
    scorer : Scorer
        A model adapter (:mod:`pipelines.models`).
    files : list of (str, pathlib.Path)
        ``(split, parquet file)`` pairs, read in this order.
    out : pathlib.Path
        Where to write the predictions (removed again on failure).
    label, positive : str, sequence
        Label column and its positive values.
    sensitive : sequence of str
        Sensitive columns carried into the audit frame.
    id_column : str, optional
        Row id column; without one, the row's position in its split.
    threshold, direction : float, str
        Prediction rule ``score <direction> threshold``.
    threads : int, optional
        Torch intra-op threads (default: torch's).
    batch_rows : int
        Rows per batch.

    Returns
    -------
    Inference
        The predictions file, the audit frame (``label``, ``prediction``,
        ``score`` and sensitive columns) and the row count.
    """
    id_name = id_column or "row"
    columns = list(dict.fromkeys([*scorer.columns, label, *sensitive]
                                 + ([id_column] if id_column else [])))
    _check_columns(files, columns)
    schema = pa.schema([("split", pa.string()), (id_name, pa.int64() if not id_column else
                        pq.read_schema(files[0][1]).field(id_column).type),
                        ("score", pa.float64()), ("prediction", pa.int8())])
    offsets: dict[str, int] = {}
    sink = _Sink(out, schema, label, positive, sensitive)
    prepare = getattr(scorer, "prepare", None)
    try:
        with torch_threads(threads, needed=hasattr(scorer, "module")), contextlib.closing(
                _read_ahead(files, columns, batch_rows, prepare)) as reader:
            for split, batch, prepared in reader:
                scores = (scorer.forward(prepared, batch.num_rows) if prepare
                          else scorer.scores(batch))
                start = offsets.get(split, 0)
                offsets[split] = start + batch.num_rows
                ids = batch.column(id_column) if id_column else pa.array(
                    np.arange(start, start + batch.num_rows, dtype=np.int64))
                sink.put(split, batch, ids, scores, apply_threshold(scores, threshold, direction))
                fault_point("evaluate.after_batch")
        finish = getattr(scorer, "finish", None)
        if finish is not None:
            finish()
        frame = sink.close()
        fault_point("evaluate.after_predictions")
    except BaseException:
        with contextlib.suppress(BaseException):
            sink.close()
        out.unlink(missing_ok=True)
        raise
    return Inference(out, frame, frame.num_rows, [s for s, _ in files])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Return 1-based ranks with ties given their average rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float | None, list[float] | None]:
    """Return ROC AUC and a 95 % interval (None when one class is absent).

    The AUC is the Mann-Whitney statistic with average ranks for ties; the
    interval uses the Hanley & McNeil (1982) standard error, "The meaning
    and use of the area under a ROC curve", Radiology 143(1), 29-36.
    """
    y = np.asarray(labels, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None, None
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    auc = float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n0 - 1) * (q2 - auc * auc)) / (n1 * n0)
    half = 1.959963984540054 * float(np.sqrt(max(var, 0.0)))
    return auc, [max(0.0, auc - half), min(1.0, auc + half)]


def grouped_auc(frame: pa.Table, features: Sequence[str]) -> dict[tuple[str, str], dict]:
    """Return ``{(feature, group): {"value", "ci"}}``: ROC AUC per group ("(missing)" too)."""
    y = frame.column("label").to_numpy()
    s = frame.column("score").to_numpy()
    out: dict[tuple[str, str], dict] = {}
    for feature in features:
        members = feature.split("&")
        keys = [pc.cast(frame.column(m), pa.string()).fill_null("(missing)").to_numpy(
            zero_copy_only=False) for m in members]
        joined = keys[0] if len(keys) == 1 else np.array(
            ["&".join(p) for p in zip(*keys, strict=True)])
        for group in np.unique(joined):
            mask = joined == group
            value, ci = roc_auc(y[mask], s[mask])
            out[(feature, str(group))] = {"value": value, "ci": ci}
    return out
