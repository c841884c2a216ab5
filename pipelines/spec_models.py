"""Spec sections for models (``models:``) and thresholds (``thresholds:``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.spec_base import NAME_PATTERN, SHA256_PATTERN, _Strict

__all__ = [
    "ScoreColumnModel",
    "TorchScriptModel",
    "TorchStateDictModel",
    "PredictionsModel",
    "BaselineModel",
    "ModelSpec",
    "Bound",
    "Thresholds",
]


class _ModelBase(_Strict):
    id: str = Field(pattern=NAME_PATTERN)
    threshold: float = 0.5
    direction: Literal[">=", ">", "<=", "<"] = ">="
    splits: list[str] | None = None
    description: str | None = None


class ScoreColumnModel(_ModelBase):
    """A score shipped with the data (e.g. COMPAS ``decile_score``)."""

    kind: Literal["score_column"]
    column: str


class TorchScriptModel(_ModelBase):
    """A TorchScript file pinned by sha256, fed the listed feature columns."""

    kind: Literal["torchscript"]
    path: str
    sha256: str = Field(pattern=SHA256_PATTERN)
    features: list[str] = Field(min_length=1)


class TorchStateDictModel(_ModelBase):
    """An importable ``module:Class`` with weights loaded ``weights_only=True``."""

    kind: Literal["torch_state_dict"]
    class_path: str = Field(alias="class", pattern=r"^[\w.]+:\w+$")
    init: dict[str, Any] = Field(default_factory=dict)
    weights: str
    sha256: str = Field(pattern=SHA256_PATTERN)
    features: list[str] = Field(min_length=1)


class PredictionsModel(_ModelBase):
    """Predictions made elsewhere, keyed by the dataset's id column."""

    kind: Literal["predictions"]
    path: str
    sha256: str = Field(pattern=SHA256_PATTERN)
    score_column: str = "score"


class BaselineModel(_ModelBase):
    """A baseline fairledger trains deterministically on the train split."""

    kind: Literal["baseline"]
    algorithm: Literal["logistic", "mlp"]
    features: list[str] | None = None
    include_sensitive: bool = False
    #: Integer-coded columns to one-hot encode as categories (e.g. admission codes).
    categorical: list[str] = Field(default_factory=list)
    epochs: int = Field(20, ge=1)
    hidden: int = Field(32, ge=1)
    seed: int = 0


ModelSpec = Annotated[
    ScoreColumnModel | TorchScriptModel | TorchStateDictModel | PredictionsModel | BaselineModel,
    Field(discriminator="kind"),
]


class Bound(_Strict):
    """Acceptable range of a metric; outside ``warn_*`` warns, outside min/max fails."""

    min: float | None = None
    max: float | None = None
    warn_min: float | None = None
    warn_max: float | None = None


class Thresholds(BaseModel):
    """Thresholds for findings: ``min_group_size`` plus one :class:`Bound` per metric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_group_size: int = Field(30, ge=1)
    metrics: dict[str, Bound] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_metrics(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "metrics" in data:
            return data
        known = {"min_group_size"}
        metrics = {k: v for k, v in data.items() if k not in known}
        for key in metrics:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(key)):
                raise ValueError(f"threshold name '{key}' must be a snake_case metric name")
        return {**{k: v for k, v in data.items() if k in known}, "metrics": metrics}
