"""Model adapters: turn a model declared in a spec into a batch scorer.

Every adapter answers the same two questions: which data columns it needs
and, for one Arrow record batch of those columns, which score each row gets
(a float; the model's ``threshold`` and ``direction`` turn it into a
prediction). Kinds:

- ``score_column``: a score shipped in the data (e.g. COMPAS ``decile_score``);
- ``torchscript``: a TorchScript file pinned by sha256, fed numeric features;
- ``torch_state_dict``: an importable ``module:Class`` whose weights are read
  with ``torch.load(..., weights_only=True)`` (never arbitrary unpickling);
- ``predictions``: a Parquet file of scores keyed by the dataset's id column;
- ``baseline``: a TorchScript module trained by :mod:`pipelines.baselines`,
  preprocessing included, loaded through :func:`load_baseline_file`.

Every problem with a model is one :class:`~pipelines.errors.ModelError` line.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import DataError, ModelError
from pipelines.spec import (
    PredictionsModel,
    ScoreColumnModel,
    TorchScriptModel,
    TorchStateDictModel,
)

__all__ = [
    "Scorer",
    "ScoreColumnScorer",
    "TorchScorer",
    "BaselineScorer",
    "model_path",
    "check_sha256",
    "sha256_of",
    "load_scorer",
    "load_torchscript",
    "load_state_dict_model",
    "load_baseline_file",
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


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_path(raw: str, spec_dir: Path, model_id: str, field_name: str) -> Path:
    """Resolve a model file path (relative paths are relative to the spec's folder).

    Raises
    ------
    ModelError
        When the file does not exist.
    """
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(spec_dir) / path
    if not path.is_file():
        raise ModelError(
            f"model file not found: {path}",
            where=f"models.{model_id}.{field_name}",
            fix="check the path (relative paths are relative to the spec file's folder)",
        )
    return path


def check_sha256(path: Path, expected: str, model_id: str) -> str:
    """Check a model file against its declared sha256; return the digest.

    Raises
    ------
    ModelError
        When the digests differ.
    """
    actual = sha256_of(path)
    if actual != expected:
        raise ModelError(
            f"model file sha256 {actual} does not match the declared {expected}",
            where=f"models.{model_id}.sha256",
            fix=f"if {path.name} is the intended file, declare sha256: {actual}",
        )
    return actual


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


def load_torchscript(path: Path, model_id: str) -> Any:
    """Load a TorchScript file on the CPU in eval mode.

    Raises
    ------
    ModelError
        When the file is not a loadable TorchScript archive.
    """
    torch = _torch()
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001  # torch raises RuntimeError, ValueError, ...
        raise ModelError(
            f"TorchScript file {path.name} does not load ({type(exc).__name__})",
            where=f"models.{model_id}.path",
            fix="save the model with torch.jit.save(torch.jit.script(model), path)",
        ) from None
    module.eval()
    return module


def load_baseline_file(path: Path, model_id: str, sha256: str | None = None) -> BaselineScorer:
    """Load a baseline TorchScript file written by :mod:`pipelines.baselines`."""
    module = load_torchscript(path, model_id)
    try:
        numeric = list(module.numeric_features)
        categorical = list(module.categorical_features)
        vocab = [list(v) for v in module.vocabularies]
    except AttributeError:
        raise ModelError(f"{path.name} is not a fairledger baseline (no feature attributes)",
                         where=f"models.{model_id}",
                         fix="retrain the baseline with 'fairledger evaluate'") from None
    return BaselineScorer(model_id, module, numeric, categorical, vocab,
                          sha256 or sha256_of(path))


def _import_class(class_path: str, model_id: str) -> Any:
    module_name, _, class_name = class_path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"cannot import {class_path} ({type(exc).__name__}: {exc})",
                         where=f"models.{model_id}.class",
                         fix="name an importable 'package.module:Class' on the Python path"
                         ) from None
    return cls


def _state_dict(path: Path, model_id: str) -> dict[str, Any]:
    torch = _torch()
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  # UnpicklingError, RuntimeError, ...
        raise ModelError(
            f"weights file {path.name} is not a plain state dict ({type(exc).__name__})",
            where=f"models.{model_id}.weights",
            fix="save it with torch.save(model.state_dict(), path)",
        ) from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ModelError(f"weights file {path.name} is not a mapping of names to tensors",
                         where=f"models.{model_id}.weights",
                         fix="save it with torch.save(model.state_dict(), path)")
    return state


def load_state_dict_model(ms: TorchStateDictModel, spec_dir: Path) -> TorchScorer:
    """Build ``Class(**init)`` and load its weights with ``weights_only=True``.

    Raises
    ------
    ModelError
        Missing file, sha256 mismatch, unimportable class, bad constructor
        arguments, or state-dict keys/shapes that do not fit the class.
    """
    path = model_path(ms.weights, spec_dir, ms.id, "weights")
    digest = check_sha256(path, ms.sha256, ms.id)
    cls = _import_class(ms.class_path, ms.id)
    try:
        module = cls(**ms.init)
    except Exception as exc:  # noqa: BLE001  # user constructor
        raise ModelError(f"{ms.class_path}(**init) failed ({type(exc).__name__}: {exc})",
                         where=f"models.{ms.id}.init",
                         fix="give the constructor arguments the class takes") from None
    state = _state_dict(path, ms.id)
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ModelError(
            f"state-dict keys do not fit {ms.class_path}: missing {missing or 'none'}, "
            f"unexpected {unexpected or 'none'}",
            where=f"models.{ms.id}.weights", fix="save the state dict of the same class and init",
        )
    wrong = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
    if wrong:
        k = wrong[0]
        raise ModelError(
            f"state-dict tensor '{k}' has shape {tuple(state[k].shape)}, "
            f"{ms.class_path} expects {tuple(own[k].shape)}",
            where=f"models.{ms.id}.weights", fix="check the init arguments against the weights",
        )
    module.load_state_dict(state, strict=True)
    module.eval()
    return TorchScorer(ms.id, "torch_state_dict", module, list(ms.features), digest)


def load_scorer(ms: Any, spec_dir: Path, *, id_column: str | None = None) -> Any:
    """Return the scorer of a score-column, TorchScript, state-dict or predictions model.

    Baselines are trained by :func:`pipelines.baselines.train_baseline` instead.

    Parameters
    ----------
    ms : model spec
        One entry of ``spec.models``.
    spec_dir : pathlib.Path
        Folder of the spec file (relative model paths start there).
    id_column : str, optional
        The dataset's row id column (needed by ``predictions`` models).

    Returns
    -------
    Scorer
        The adapter.

    Raises
    ------
    ModelError
        When the model cannot be used (the message says why and how to fix it).
    """
    if isinstance(ms, ScoreColumnModel):
        return ScoreColumnScorer(ms.id, ms.column)
    if isinstance(ms, TorchScriptModel):
        path = model_path(ms.path, spec_dir, ms.id, "path")
        digest = check_sha256(path, ms.sha256, ms.id)
        return TorchScorer(ms.id, "torchscript", load_torchscript(path, ms.id),
                           list(ms.features), digest)
    if isinstance(ms, TorchStateDictModel):
        return load_state_dict_model(ms, spec_dir)
    if isinstance(ms, PredictionsModel):
        from pipelines.predictions_model import PredictionsScorer

        return PredictionsScorer.load(ms, spec_dir, id_column)
    raise ModelError(f"model kind {getattr(ms, 'kind', '?')!r} has no loader here",
                     where=f"models.{getattr(ms, 'id', '?')}",
                     fix="train baselines with pipelines.baselines.train_baseline")
