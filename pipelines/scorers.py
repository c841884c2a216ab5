"""Scorers: turn one Arrow record batch into one float score per row.

The inference loop (:mod:`pipelines.evaluate`) sees every model through
the same small interface (:class:`Scorer`): the columns it needs and the
scores of a batch; torch scorers also split the work into ``prepare``
(numpy, on the reader thread) and ``forward`` (torch, in calls of
:data:`FORWARD_ROWS` rows). :mod:`pipelines.models` loads them from a spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import DataError, ModelError

__all__ = [
    "Scorer",
    "ScoreColumnScorer",
    "TorchScorer",
    "BaselineScorer",
    "numeric_matrix",
    "check_output",
    "in_chunks",
    "FORWARD_ROWS",
]


class Scorer(Protocol):
    """What the inference loop needs from a model."""

    kind: str
    sha256: str | None
    columns: list[str]

    def scores(self, batch: pa.RecordBatch) -> np.ndarray:
        """Return one float score per row of ``batch``."""
        ...  # pragma: no cover


def numeric_matrix(batch: pa.RecordBatch, features: list[str], model_id: str) -> np.ndarray:
    """Stack numeric feature columns into a C-contiguous float32 matrix ``(rows, features)``.

    Raises
    ------
    ModelError
        When a feature column is missing or not numeric/boolean.
    DataError
        When a feature column has null values.
    """
    out = np.empty((batch.num_rows, len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        index = batch.schema.get_field_index(name)
        if index < 0:
            raise ModelError(f"feature column '{name}' is not in the dataset",
                             where=f"models.{model_id}.features",
                             fix=f"use columns of the dataset: {', '.join(batch.schema.names)}")
        col = batch.column(index)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                or pa.types.is_boolean(col.type)):
            raise ModelError(f"feature column '{name}' is {col.type}, not numeric",
                             where=f"models.{model_id}.features",
                             fix="feed torch models numeric or boolean columns only")
        if col.null_count:
            raise DataError(f"feature column '{name}' has {col.null_count} null values",
                            where=f"models.{model_id}.features",
                            fix="impute the column in the spec or drop it from the features")
        out[:, j] = col.to_numpy(zero_copy_only=False)
    return out


#: Rows per call of a torch module. Small calls keep the intermediate tensors
#: in cache and reuse their memory: the MLP of ``benchmarks/evaluate.py`` on
#: one thread scores 17.8 million rows/s in calls of 16 Ki rows and 10.6
#: million in calls of 256 Ki (the read batch, :data:`pipelines.evaluate.DEFAULT_BATCH_ROWS`).
FORWARD_ROWS = 1 << 14


def in_chunks(call: Callable[[int, int], np.ndarray], rows: int) -> np.ndarray:
    """Return float64 scores of ``rows`` rows from ``call(start, stop)`` on consecutive slices.

    Each slice has at most :data:`FORWARD_ROWS` rows.
    """
    out = np.empty(rows, dtype=np.float64)
    for start in range(0, rows, FORWARD_ROWS):
        stop = min(start + FORWARD_ROWS, rows)
        out[start:stop] = call(start, stop)
    return out


def check_output(out: Any, rows: int, model_id: str) -> np.ndarray:
    """Check a model output tensor is ``(rows,)`` or ``(rows, 1)``; return float64 scores.

    Raises
    ------
    ModelError
        On any other shape or a non-tensor output.
    """
    shape = tuple(getattr(out, "shape", ()))
    if not hasattr(out, "detach") or shape not in ((rows,), (rows, 1)):
        got = f"shape {shape}" if hasattr(out, "detach") else f"a {type(out).__name__}"
        raise ModelError(
            f"model output has {got}; expected ({rows},) or ({rows}, 1) for {rows} input rows",
            where=f"models.{model_id}",
            fix="return one score per row (a probability or a logit with a matching threshold)",
        )
    return np.asarray(out.detach().reshape(-1).to(dtype=_torch().float64).numpy())


def _torch() -> Any:
    import torch

    return torch


@dataclass
class ScoreColumnScorer:
    """A score that ships with the data."""

    model_id: str
    column: str
    kind: str = "score_column"
    sha256: str | None = None
    columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.columns = [self.column]

    def scores(self, batch: pa.RecordBatch) -> np.ndarray:
        """Return the score column as float64 (nulls are an error)."""
        col = batch.column(self.column)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            raise ModelError(f"score column '{self.column}' is {col.type}, not numeric",
                             where=f"models.{self.model_id}.column",
                             fix="name a numeric score column")
        if col.null_count:
            raise DataError(f"score column '{self.column}' has {col.null_count} null values",
                            where=f"models.{self.model_id}.column",
                            fix="restrict the model to splits without missing scores")
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


@dataclass
class TorchScorer:
    """A torch module fed a float32 matrix of numeric feature columns."""

    model_id: str
    kind: str
    module: Any
    features: list[str]
    sha256: str | None
    columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.columns = list(self.features)

    def prepare(self, batch: pa.RecordBatch) -> np.ndarray:
        """Stack the feature columns (no torch; runs on the read-ahead thread)."""
        return numeric_matrix(batch, self.features, self.model_id)

    def scores(self, batch: pa.RecordBatch) -> np.ndarray:
        """Run the module on one batch (the caller holds ``torch.inference_mode``)."""
        return self.forward(self.prepare(batch), batch.num_rows)

    def forward(self, prepared: np.ndarray, rows: int) -> np.ndarray:
        """Run the module on a prepared float32 matrix, :data:`FORWARD_ROWS` rows per call."""
        torch = _torch()

        def call(start: int, stop: int) -> np.ndarray:
            try:
                out = self.module(torch.from_numpy(prepared[start:stop]))
            except Exception as exc:  # noqa: BLE001  # any failure of user code is a model error
                raise ModelError(f"model failed on a batch of {stop - start} rows "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
                                 where=f"models.{self.model_id}",
                                 fix="check the model's input width against its features"
                                 ) from None
            return check_output(out, stop - start, self.model_id)

        return in_chunks(call, rows)


@dataclass
class BaselineScorer:
    """A fairledger baseline: TorchScript with its preprocessing inside."""

    model_id: str
    module: Any
    numeric: list[str]
    categorical: list[str]
    vocabularies: list[list[str]]
    sha256: str | None
    kind: str = "baseline"
    columns: list[str] = field(default_factory=list)
    _value_sets: list[pa.Array] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.columns = self.numeric + self.categorical
        self._value_sets = [pa.array(v, type=pa.string()) for v in self.vocabularies]

    def encode(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """Return the float32 numeric matrix (NaN = missing) and int64 category codes."""
        num = np.empty((batch.num_rows, len(self.numeric)), dtype=np.float32)
        for j, name in enumerate(self.numeric):
            col = batch.column(name)
            if col.null_count:
                col = pc.fill_null(pc.cast(col, pa.float64()), float("nan"))
            num[:, j] = col.to_numpy(zero_copy_only=False)
        cat = np.empty((batch.num_rows, len(self.categorical)), dtype=np.int64)
        for j, name in enumerate(self.categorical):
            cat[:, j] = self._codes(batch.column(name), self._value_sets[j])
        return num, cat

    @staticmethod
    def _codes(col: pa.Array, value_set: pa.Array) -> np.ndarray:
        """Return vocabulary codes (-1 for missing or unseen) of one column."""
        if isinstance(col, pa.DictionaryArray):  # map the small dictionary, then take
            lookup = BaselineScorer._codes(col.dictionary, value_set)
            idx = np.asarray(col.indices.fill_null(0).to_numpy(zero_copy_only=False),
                             dtype=np.int64)
            out = lookup[idx] if len(lookup) else np.full(len(col), -1, dtype=np.int64)
            if col.null_count:
                out[~col.is_valid().to_numpy(zero_copy_only=False)] = -1
            return np.asarray(out, dtype=np.int64)
        if not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        codes = pc.fill_null(pc.index_in(col, value_set=value_set), -1)
        return np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64)

    def prepare(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """Encode a batch (no torch; runs on the read-ahead thread)."""
        return self.encode(batch)

    def forward(self, prepared: tuple[np.ndarray, np.ndarray], rows: int) -> np.ndarray:
        """Run the module on an encoded batch, :data:`FORWARD_ROWS` rows per call."""
        torch = _torch()
        num, cat = prepared

        def call(start: int, stop: int) -> np.ndarray:
            out = self.module(torch.from_numpy(num[start:stop]),
                              torch.from_numpy(cat[start:stop]))
            return check_output(out, stop - start, self.model_id)

        return in_chunks(call, rows)

    def scores(self, batch: pa.RecordBatch) -> np.ndarray:
        """Encode the batch with the module's vocabularies and run it."""
        return self.forward(self.encode(batch), batch.num_rows)
