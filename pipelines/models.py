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
from pathlib import Path
from typing import Any

from pipelines.errors import ModelError
from pipelines.scorers import (
    FORWARD_ROWS,
    BaselineScorer,
    ScoreColumnScorer,
    Scorer,
    TorchScorer,
    check_output,
    in_chunks,
    numeric_matrix,
)
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


def load_torchscript(path: Path, model_id: str) -> Any:
    """Load a TorchScript file on the CPU in eval mode.

    Raises
    ------
    ModelError
        When the file is not a loadable TorchScript archive.
    """
    import torch
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
    import torch
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
