"""Deterministic torch baselines: logistic regression and a small MLP.

:func:`train_baseline` learns, on the train split only, the preprocessing
(standardisation of numeric columns, a one-hot vocabulary of the most
frequent values of each categorical column) and the weights, and exports
one TorchScript module that holds all of it. The module's ``forward`` takes
the raw numeric columns (float32, NaN for missing) and integer codes of the
categorical columns in its own ``vocabularies`` (-1 for missing or unseen);
:class:`pipelines.scorers.BaselineScorer` does that lookup from Arrow.

Determinism: fixed seeds (``torch.manual_seed`` and a seeded shuffling
generator), ``torch.use_deterministic_algorithms(True)`` and one thread
during training, so two runs give identical weights and predictions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import DataError, ModelError
from pipelines.spec import BaselineModel

__all__ = ["MAX_CATEGORIES", "BATCH_ROWS", "L2", "Preprocessing", "select_features",
           "fit_preprocessing", "binary_label", "train_baseline", "build_module"]

#: Most frequent values kept per categorical column; rarer ones share the all-zero code.
MAX_CATEGORIES = 50
#: Rows per optimiser step (MLP).
BATCH_ROWS = 512
#: L2 penalty on the weights.
L2 = 1e-4


@dataclass(frozen=True)
class Preprocessing:
    """What is learned from the train split before the weights."""

    numeric: list[str]
    categorical: list[str]
    vocabularies: list[list[str]]
    mean: list[float]
    std: list[float]


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_text(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def select_features(ms: BaselineModel, schema: pa.Schema, *, label: str,
                    id_column: str | None, sensitive: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return the (numeric, categorical) input columns of a baseline.

    Declared ``features`` are used as given; otherwise every numeric, boolean
    or text column except the label, the id column and (unless
    ``include_sensitive``) the sensitive columns. Dates are never inputs.

    Raises
    ------
    ModelError
        A declared feature is missing, unusable, the label, or sensitive
        without ``include_sensitive``; or no feature is left.
    """
    where = f"models.{ms.id}.features"
    banned = {label} | ({id_column} if id_column else set())
    if not ms.include_sensitive:
        banned |= set(sensitive)
    names = list(ms.features) if ms.features is not None else [
        n for n in schema.names if n not in banned]
    names += [c for c in ms.categorical if c not in names]
    numeric, categorical = [], []
    for name in names:
        if schema.get_field_index(name) < 0:
            raise ModelError(f"feature column '{name}' is not in the dataset", where=where,
                             fix=f"use columns of the dataset: {', '.join(schema.names)}")
        if name in banned:
            why = "is the label" if name == label else (
                "is the id column" if name == id_column else "is a sensitive feature")
            raise ModelError(f"feature column '{name}' {why}", where=where,
                             fix="remove it from features (sensitive features need "
                                 "include_sensitive: true)")
        kind = schema.field(name).type
        if name in ms.categorical and (_is_numeric(kind) or _is_text(kind)):
            categorical.append(name)
        elif _is_numeric(kind):
            numeric.append(name)
        elif _is_text(kind):
            categorical.append(name)
        elif ms.features is not None:
            raise ModelError(f"feature column '{name}' is {kind}, neither numeric nor text",
                             where=where, fix="drop it from features")
    if not numeric and not categorical:
        raise ModelError("the baseline has no input feature", where=where,
                         fix="list numeric or text columns in features")
    return numeric, categorical


def _vocabulary(col: pa.ChunkedArray) -> list[str]:
    counts = pc.value_counts(pc.cast(col, pa.string()).drop_null()).to_pylist()
    ranked = sorted(counts, key=lambda c: (-c["counts"], c["values"]))[:MAX_CATEGORIES]
    return sorted(c["values"] for c in ranked)


def fit_preprocessing(train: pa.Table, numeric: list[str], categorical: list[str]) -> Preprocessing:
    """Learn means, standard deviations and vocabularies from the train split only."""
    mean, std = [], []
    for name in numeric:
        values = pc.cast(train.column(name), pa.float64()).drop_null().to_numpy()
        m = float(values.mean()) if values.size else 0.0
        s = float(values.std()) if values.size else 1.0
        mean.append(m)
        std.append(s if s > 0 and np.isfinite(s) else 1.0)
    vocab = [_vocabulary(train.column(name)) for name in categorical]
    kept = [(name, v) for name, v in zip(categorical, vocab, strict=True) if v]  # all-null: nothing
    return Preprocessing(numeric, [k for k, _ in kept], [v for _, v in kept], mean, std)


def binary_label(col: pa.ChunkedArray | pa.Array, positive: Sequence[Any],
                 where: str) -> np.ndarray:
    """Map a label column to 0/1 (int8): 1 where the value is one of ``positive``.

    Raises
    ------
    DataError
        When the label has null values.
    """
    if col.null_count:
        raise DataError(f"label column has {col.null_count} null values", where=where,
                        fix="drop rows without a label in the spec (expectations or filters)")
    value_type = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    try:
        values = pa.array(list(positive)).cast(value_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        values = pa.array([str(v) for v in positive])
        col = pc.cast(col, pa.string())
    if pa.types.is_integer(col.type) and pa.types.is_integer(values.type):
        # comparing with each positive value: ~50x faster than pc.is_in (and np.isin)
        ints = col.to_numpy()
        mask = np.zeros(len(ints), dtype=bool)
        for value in values.to_pylist():
            mask |= ints == value
        return mask.astype(np.int8)
    mask = pc.is_in(col, value_set=values)
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=np.int8)


def build_module(prep: Preprocessing, algorithm: str, hidden: int) -> Any:
    """Build the (untrained) baseline module around fitted preprocessing."""
    from pipelines._baseline_net import BaselineNet

    return BaselineNet(prep.numeric, prep.categorical, prep.vocabularies, prep.mean, prep.std,
                       algorithm, hidden)


def _fit_logistic(net: Any, z: Any, target: Any, ms: BaselineModel) -> None:
    """Maximum likelihood with a small L2 penalty: full-batch L-BFGS (deterministic)."""
    import torch

    opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=ms.epochs * 10,
                            history_size=20, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.BCEWithLogitsLoss()
    weight = net[0].weight

    def closure() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(z).squeeze(1), target) + L2 * (weight * weight).sum()
        loss.backward()
        return loss

    opt.step(closure)


def _fit_mlp(net: Any, z: Any, target: Any, ms: BaselineModel) -> None:
    """Adam on seeded shuffled mini-batches, learning rate decayed linearly to 0."""
    import torch

    gen = torch.Generator().manual_seed(ms.seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=L2)
    steps = ms.epochs * -(-z.shape[0] // BATCH_ROWS)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: max(0.0, 1.0 - i / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(ms.epochs):
        order = torch.randperm(z.shape[0], generator=gen)
        for start in range(0, z.shape[0], BATCH_ROWS):
            rows = order[start:start + BATCH_ROWS]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(z[rows]).squeeze(1), target[rows]).backward()
            opt.step()
            sched.step()


def _fit(module: Any, num: np.ndarray, cat: np.ndarray, y: np.ndarray,
         ms: BaselineModel) -> None:
    import torch

    with torch.no_grad():
        z = module.features(torch.from_numpy(num), torch.from_numpy(cat))
    target = torch.from_numpy(y.astype(np.float32))
    module.train()
    if ms.algorithm == "logistic":
        _fit_logistic(module.net, z, target, ms)
    else:
        _fit_mlp(module.net, z, target, ms)
    module.eval()


def train_baseline(ms: BaselineModel, train: pa.Table, *, label: str, positive: Sequence[Any],
                   id_column: str | None, sensitive: Sequence[str]) -> bytes:
    """Train a baseline on the train split and return its TorchScript archive.

    Parameters
    ----------
    ms : BaselineModel
        The model spec (algorithm, features, epochs, hidden, seed).
    train : pyarrow.Table
        The train split.
    label : str
        The label column; ``positive`` lists its positive values.
    positive : sequence
        Positive label values.
    id_column : str, optional
        The row id column (never an input).
    sensitive : sequence of str
        Sensitive columns (inputs only with ``include_sensitive``).

    Returns
    -------
    bytes
        A ``torch.jit.save`` archive; load it with
        :func:`pipelines.models.load_baseline_file`.
    """
    import torch

    from pipelines.scorers import BaselineScorer

    numeric, categorical = select_features(ms, train.schema, label=label, id_column=id_column,
                                           sensitive=sensitive)
    if train.num_rows == 0:
        raise DataError("the train split is empty", where=f"models.{ms.id}",
                        fix="build the dataset with a train split")
    y = binary_label(train.column(label), positive, f"label {label}")
    prep = fit_preprocessing(train, numeric, categorical)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(ms.seed)
        module = build_module(prep, ms.algorithm, ms.hidden)
        encoder = BaselineScorer(ms.id, None, prep.numeric, prep.categorical,
                                 prep.vocabularies, None)
        table = train.select(prep.numeric + prep.categorical).combine_chunks()
        num, cat = encoder.encode(table.to_batches()[0])
        _fit(module, num, cat, y, ms)
        scripted = torch.jit.script(module)
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return buffer.getvalue()
