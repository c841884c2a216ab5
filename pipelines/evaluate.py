"""Batched streaming inference: a model over a dataset version -> predictions.

:func:`run_inference` reads the evaluated split(s) of a version batch by
batch from Parquet (only the columns it needs), scores each batch under
``torch.inference_mode()`` with a configurable thread count, writes
``predictions.parquet`` (split, row id, score, prediction) as it goes and
returns the small table the audit needs (label, prediction, score and the
sensitive columns; string ones dictionary-encoded). Three threads overlap:
a reader decodes and encodes the next batches, the caller's thread runs the
model, a writer writes predictions; see ``benchmarks/evaluate.py`` for the
throughput against the bare forward pass. The threshold-free metric,
ROC AUC, is in :mod:`pipelines.auc`.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.baselines import binary_label
from pipelines.errors import ArgumentError, DataError
from pipelines.faults import fault_point
from pipelines.progress import step

__all__ = ["DEFAULT_BATCH_ROWS", "Inference", "choose_splits", "apply_threshold",
           "run_inference", "torch_threads", "inference_runtime"]

#: Rows per inference batch.
DEFAULT_BATCH_ROWS = 1 << 18
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
def torch_threads(threads: int | None, *, needed: bool = True,
                  spare_core: bool = False) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(threads)`` and inference mode.

    With ``needed=False`` (a model without torch) torch is not even imported.
    With ``spare_core`` and no explicit count, torch gets one thread fewer
    than its default (at least one), leaving a core to the reader and writer
    threads of :func:`run_inference`: on 2 cores, 5 million rows of
    ``benchmarks/evaluate.py`` score at 9.4 million rows/s with 1 torch
    thread against 7.0 million with 2, whose waiting threads spin on the
    core the reader needs.
    """
    if threads is not None and threads < 1:
        raise ArgumentError(f"threads must be >= 1, got {threads}", where="--threads",
                            fix="pass a positive thread count")
    if not needed:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if not threads and spare_core:
        threads = max(1, before - 1)
    if threads:
        torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(before)


#: glibc ``mallopt`` parameters: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD (and their defaults).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024


@contextlib.contextmanager
def inference_runtime() -> Iterator[None]:
    """Run inference with the cyclic garbage collector paused and freed memory kept.

    The forward pass creates Python objects (tensors, views) by the thousand,
    which triggers the cyclic collector; a collection walks every object of
    the process (torch, pyarrow and Great Expectations hold hundreds of
    thousands) with the GIL held, stalling the reader and writer threads:
    pausing it took a 5-million-row run from 1.4-1.9 s to 0.9 s on one torch
    thread. Inference creates no reference cycles worth collecting, and the
    collector is re-enabled afterwards if it was on.

    Memory (glibc only; a no-op elsewhere): each batch allocates the same
    large temporaries (decoded columns, the model's intermediate tensors).
    With glibc's adaptive thresholds they are often handed back to the
    kernel and faulted in again, zero-filled, on the next batch: a profile
    of 5 million rows showed ~400,000 page faults and as much CPU time as
    the forward pass itself. Raising the trim and mmap thresholds for the
    run lets every batch reuse the previous batch's pages; afterwards the
    defaults are restored and the heap is trimmed.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _keep_freed_memory():
            yield
    finally:
        if collecting:
            gc.enable()


@contextlib.contextmanager
def _keep_freed_memory() -> Iterator[None]:
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(_M_MMAP_THRESHOLD, 1 << 28)
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.malloc_trim(0)


def _glibc() -> Any:
    """Return the C library when it is glibc (it has ``mallopt``), else None."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return None
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    return None


def _open(path: Path, sensitive: Sequence[str]) -> pq.ParquetFile:
    """Open a split file memory-mapped; string sensitive columns come back dictionary-encoded.

    Dictionary decoding skips materialising one string per row; the audit
    counts group by dictionary codes anyway.
    """
    schema = pq.read_schema(path)
    text = [s for s in sensitive if pa.types.is_string(schema.field(s).type)
            or pa.types.is_large_string(schema.field(s).type)]
    return pq.ParquetFile(path, memory_map=True, read_dictionary=text or None)


def _read_ahead(files: list[tuple[str, Path]], columns: list[str], batch_rows: int,
                sensitive: Sequence[str], prepare: Any = None
                ) -> Generator[tuple[str, pa.RecordBatch, Any], None, None]:
    """Yield (split, batch, prepared) while a thread reads and prepares the next batches.

    Arrow decodes with the GIL released and ``prepare`` is vectorised numpy,
    so this thread runs on the other core while the caller runs the model.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for split, path in files:
                with _open(path, sensitive) as pf:
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


def _writer(out: Path, schema: pa.Schema, id_name: str) -> pq.ParquetWriter:
    """Open predictions.parquet with encodings chosen for its columns.

    ``split`` is written straight from dictionary codes; integer ids and the
    0/1 ``prediction`` are delta-encoded (bit-packed; a dictionary costs
    more to build); scores use BYTE_STREAM_SPLIT, which lets LZ4 compress the
    float bytes a little. ``split``, ``score`` and ``prediction`` are
    required columns, so no definition levels are written. Trying
    dictionary encoding on unique ids and scores (Parquet's default) costs
    more than the rest of the write together, and so do min/max statistics
    of the dictionary-encoded ``split`` (0.30 CPU-s per 5 million rows; one
    value per file anyway). LZ4 rather than zstd: cheaper to write and
    read, same size here. Per 5 million rows: 0.12 CPU-s and 35 MiB.
    """
    encoding = {"score": "BYTE_STREAM_SPLIT", "prediction": "DELTA_BINARY_PACKED"}
    if pa.types.is_integer(schema.field(id_name).type):
        encoding[id_name] = "DELTA_BINARY_PACKED"
    file_schema = pa.schema([
        pa.field("split", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        schema.field(id_name),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("prediction", pa.int8(), nullable=False)])
    return pq.ParquetWriter(out, file_schema, compression="lz4", store_schema=False,
                            use_dictionary=["split"], column_encoding=encoding,
                            write_statistics=[n for n in schema.names if n != "split"])


class _Sink:
    """Write prediction batches and collect the audit columns on a background thread."""

    def __init__(self, out: Path, schema: pa.Schema, label: str, positive: Sequence[Any],
                 sensitive: Sequence[str]) -> None:
        self.label, self.positive, self.sensitive = label, positive, sensitive
        self.writer = _writer(out, schema, schema.names[1])
        self.schema = self.writer.schema
        self.labels: list[np.ndarray] = []
        self.groups: dict[str, list[pa.Array]] = {s: [] for s in sensitive}
        self.error: BaseException | None = None
        self.q: queue.Queue[Any] = queue.Queue(maxsize=2)
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
        codes = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(batch.num_rows, dtype=np.int32)), pa.array([split], pa.string()))
        self.writer.write_batch(pa.record_batch([codes, ids, pa.array(scores), pa.array(pred)],
                                                schema=self.schema))
        self.labels.append(binary_label(batch.column(self.label), self.positive,
                                        f"label {self.label}"))
        for s in self.sensitive:
            self.groups[s].append(batch.column(s))

    def put(self, *item: Any) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(item)

    def close(self, scores: np.ndarray, pred: np.ndarray) -> pa.Table:
        """Finish the file; return the audit frame (label, prediction, score, sensitive)."""
        self.q.put(None)
        self.thread.join()
        self.writer.close()
        if self.error is not None:
            raise self.error
        if not self.labels:
            return pa.table({})
        columns = {"label": pa.array(np.concatenate(self.labels)), "prediction": pa.array(pred),
                   "score": pa.array(scores)}
        return pa.table({**columns, **{s: pa.chunked_array(parts)
                                       for s, parts in self.groups.items()}})


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
        A model adapter (:mod:`pipelines.scorers`, loaded by :mod:`pipelines.models`).
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
        Torch intra-op threads (default: torch's default minus one, at least
        one; the other core reads and writes).
    batch_rows : int
        Rows per batch.

    Returns
    -------
    Inference
        The predictions file, the audit frame (``label``, ``prediction``,
        ``score`` and sensitive columns, string ones dictionary-encoded) and
        the row count.
    """
    id_name = id_column or "row"
    columns = list(dict.fromkeys([*scorer.columns, label, *sensitive]
                                 + ([id_column] if id_column else [])))
    _check_columns(files, columns)
    schema = pa.schema([("split", pa.string()), (id_name, pa.int64() if not id_column else
                        pq.read_schema(files[0][1]).field(id_column).type),
                        ("score", pa.float64()), ("prediction", pa.int8())])
    with inference_runtime():
        sink = _Sink(out, schema, label, positive, sensitive)
        try:
            scores, pred = _score_all(scorer, files, columns, sink, id_column=id_column,
                                      threshold=threshold, direction=direction,
                                      threads=threads, batch_rows=batch_rows,
                                      sensitive=sensitive)
            frame = sink.close(scores, pred)
            fault_point("evaluate.after_predictions")
        except BaseException:
            with contextlib.suppress(BaseException):
                sink.close(np.empty(0), np.empty(0, np.int8))
            out.unlink(missing_ok=True)
            raise
    return Inference(out, frame, frame.num_rows, [s for s, _ in files])


def _score_all(scorer: Any, files: list[tuple[str, Path]], columns: list[str], sink: _Sink, *,
               id_column: str | None, threshold: float, direction: str, threads: int | None,
               batch_rows: int, sensitive: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Score every batch into whole-run arrays and hand each batch to the sink.

    The score and prediction arrays are allocated once for all rows (the
    Parquet footers give the count): per-batch arrays kept for the audit
    frame would pin the heap between batches and defeat memory reuse.
    """
    total = sum(pq.ParquetFile(path).metadata.num_rows for _split, path in files)
    scores, pred = np.empty(total, dtype=np.float64), np.empty(total, dtype=np.int8)
    prepare = getattr(scorer, "prepare", None)
    offsets: dict[str, int] = {}
    done = 0
    label = f"inference {getattr(scorer, 'model_id', '') or type(scorer).__name__}"
    with torch_threads(threads, needed=hasattr(scorer, "module"), spare_core=True), \
            contextlib.closing(
            _read_ahead(files, columns, batch_rows, sensitive, prepare)) as reader, \
            step(label, total) as advance:
        for split, batch, prepared in reader:
            n = batch.num_rows
            rows = slice(done, done + n)
            scores[rows] = (scorer.forward(prepared, n) if prepare else scorer.scores(batch))
            pred[rows] = apply_threshold(scores[rows], threshold, direction)
            start = offsets.get(split, 0)
            offsets[split] = start + n
            ids = batch.column(id_column) if id_column else pa.array(
                np.arange(start, start + n, dtype=np.int64))
            sink.put(split, batch, ids, scores[rows], pred[rows])
            done += n
            advance(n)
            fault_point("evaluate.after_batch")
    finish = getattr(scorer, "finish", None)
    if finish is not None:
        finish()
    return scores[:done], pred[:done]
