"""Dataset specs: the declarative YAML that says what a benchmark dataset is.

A spec names the dataset and its sources (with sha256), says how to read and
type them, which column is the label and which are sensitive, how to split,
what to expect of the data, which reference population to compare against,
which models to evaluate, which thresholds to apply and when to rebuild.
:func:`load_spec` turns a YAML file into a validated :class:`DatasetSpec`;
every problem becomes one :class:`~pipelines.errors.SpecError` line naming
the file, line and field, and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from pipelines.errors import SpecError
from pipelines.spec_base import NAME_PATTERN, SHA256_PATTERN, ColumnType, Scalar, _Strict
from pipelines.spec_errors import spec_error_from_validation, yaml_error
from pipelines.spec_models import (
    BaselineModel,
    Bound,
    ModelSpec,
    PredictionsModel,
    ScoreColumnModel,
    Thresholds,
    TorchScriptModel,
    TorchStateDictModel,
)

__all__ = [
    "ColumnType",
    "ReadOptions",
    "FileSource",
    "HuggingFaceSource",
    "ColumnSpec",
    "DerivedBins",
    "DerivedMap",
    "LabelSpec",
    "SensitiveFeature",
    "SplitSpec",
    "ExpectationSpec",
    "RowCountBounds",
    "ReferenceLink",
    "ScoreColumnModel",
    "TorchScriptModel",
    "TorchStateDictModel",
    "PredictionsModel",
    "BaselineModel",
    "Bound",
    "Thresholds",
    "Schedule",
    "Datasheet",
    "DatasetSpec",
    "load_spec",
    "parse_spec",
    "spec_digest",
    "json_schema",
]

class ReadOptions(_Strict):
    """How to read a delimited or structured source file."""

    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    column_names: list[str] | None = None
    skip_rows: int = Field(0, ge=0)
    missing_values: list[str] = Field(default_factory=lambda: [""])
    member: str | None = None
    encoding: str = "utf-8"
    strip_whitespace: bool = False
    block_size: int = Field(16 << 20, ge=1 << 16)

    @model_validator(mode="after")
    def _names_when_headerless(self) -> ReadOptions:
        if not self.header and not self.column_names:
            raise ValueError("a source without a header needs read.column_names")
        if self.column_names and len(set(self.column_names)) != len(self.column_names):
            raise ValueError("read.column_names has duplicate names")
        return self


class FileSource(_Strict):
    """A file fetched from a URL (or a mirror / cache) and pinned by sha256."""

    kind: Literal["file"] = "file"
    url: str = Field(min_length=1)
    sha256: str = Field(pattern=SHA256_PATTERN)
    format: Literal["csv", "parquet", "json", "arff"] = "csv"
    role: str | None = Field(None, pattern=NAME_PATTERN)
    file_name: str | None = None
    read: ReadOptions = Field(default_factory=lambda: ReadOptions())

    @property
    def mirror_name(self) -> str:
        """File name looked up in ``FAIRLEDGER_MIRROR/<spec name>/``."""
        if self.file_name:
            return self.file_name
        if self.read.member:
            return self.read.member.rsplit("/", 1)[-1]
        return self.url.rstrip("/").rsplit("/", 1)[-1]


class HuggingFaceSource(_Strict):
    """A Hugging Face Hub dataset read through the ``datasets`` library."""

    kind: Literal["huggingface"]
    repo_id: str = Field(min_length=1)
    config: str | None = None
    split: str = "train"
    revision: str = Field(pattern=r"^[0-9a-f]{40}$")
    role: str | None = Field(None, pattern=NAME_PATTERN)


Source = Annotated[FileSource | HuggingFaceSource, Field(discriminator="kind")]


class ColumnSpec(_Strict):
    """Type and meaning of one column (keyed by its final name)."""

    type: ColumnType
    description: str | None = None


class DerivedBins(_Strict):
    """A column made by binning a numeric column (e.g. age bands)."""

    kind: Literal["bins"] = "bins"
    name: str
    from_: str = Field(alias="from")
    edges: list[float] = Field(min_length=2)
    labels: list[str]
    right: bool = False

    @model_validator(mode="after")
    def _labels_fit(self) -> DerivedBins:
        if len(self.labels) != len(self.edges) - 1:
            raise ValueError(
                f"bins of '{self.name}' need {len(self.edges) - 1} labels for "
                f"{len(self.edges)} edges, got {len(self.labels)}"
            )
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError(f"bins of '{self.name}' need strictly increasing edges")
        return self


class DerivedMap(_Strict):
    """A column made by mapping the values of another (e.g. codes to sex)."""

    kind: Literal["map"]
    name: str
    from_: str = Field(alias="from")
    mapping: dict[str, Scalar | None]
    default: Scalar | None = None


Derived = Annotated[DerivedBins | DerivedMap, Field(discriminator="kind")]


class LabelSpec(_Strict):
    """The target column and, for binary tasks, its positive values."""

    column: str
    task: Literal["binary", "multiclass", "regression"] = "binary"
    positive: list[Scalar] = Field(default_factory=list)
    values: list[Scalar] | None = None

    @model_validator(mode="after")
    def _positive_for_binary(self) -> LabelSpec:
        if self.task == "binary" and not self.positive:
            raise ValueError("a binary label needs label.positive (the positive values)")
        return self


class SensitiveFeature(_Strict):
    """A sensitive feature and its declared categories."""

    column: str
    categories: list[str] | None = None
    description: str | None = None


class SplitSpec(_Strict):
    """How rows are assigned to splits."""

    kind: Literal["random", "roles", "all"] = "random"
    test_fraction: float = Field(0.3, gt=0.0, lt=1.0)
    seed: int = 0
    stratify: list[str] = Field(default_factory=list)


class ExpectationSpec(_Strict):
    """One Great Expectations expectation, by its snake-case name."""

    expectation: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    args: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["error", "warn"] = "error"
    description: str | None = None


class RowCountBounds(_Strict):
    """Bounds on the number of rows of the ingested table."""

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class ReferenceLink(_Strict):
    """The reference population file the dataset audit compares against."""

    file: str
    features: list[str] | None = None
    kl_expectation: bool = False


class Schedule(_Strict):
    """When a dataset is rebuilt (a Prefect deployment schedule)."""

    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron '{value}' must have 5 fields (minute hour day month weekday)")
        return value


class Datasheet(_Strict):
    """Answers to the sections of Datasheets for Datasets (Gebru et al., 2021)."""

    motivation: str | None = None
    composition: str | None = None
    collection: str | None = None
    preprocessing: str | None = None
    uses: str | None = None
    distribution: str | None = None
    maintenance: str | None = None
    personal_information: str | None = None
    social_impact: str | None = None
    limitations: str | None = None


class DatasetSpec(_Strict):
    """A benchmark dataset, declared once."""

    name: str = Field(pattern=NAME_PATTERN)
    title: str
    description: str = ""
    license: str
    citation: str
    homepage: str | None = None
    sources: list[Source] = Field(min_length=1)
    rename: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, ColumnType | ColumnSpec] = Field(default_factory=dict)
    keep: Literal["all", "declared"] = "all"
    value_maps: dict[str, dict[str, Scalar | None]] = Field(default_factory=dict)
    derived: list[Derived] = Field(default_factory=list)
    label: LabelSpec
    sensitive: list[SensitiveFeature] = Field(min_length=1)
    intersections: list[list[str]] = Field(default_factory=list)
    id_column: str | None = None
    split: SplitSpec = Field(default_factory=lambda: SplitSpec())
    expectations: list[ExpectationSpec] = Field(default_factory=list)
    row_count: RowCountBounds | None = None
    reference: ReferenceLink | None = None
    models: list[ModelSpec] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=lambda: Thresholds())
    schedule: Schedule | None = None
    datasheet: Datasheet = Field(default_factory=lambda: Datasheet())

    @field_validator("sources", "derived", mode="before")
    @classmethod
    def _default_kind(cls, value: Any, info: Any) -> Any:
        default = "file" if info.field_name == "sources" else "bins"
        if isinstance(value, list):
            return [{"kind": default, **v} if isinstance(v, dict) else v for v in value]
        return value

    @field_validator("intersections", mode="before")
    @classmethod
    def _split_ampersands(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.split("&") if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        sensitive = {s.column for s in self.sensitive}
        for combo in self.intersections:
            missing = [c for c in combo if c not in sensitive]
            if len(combo) < 2 or missing:
                raise ValueError(
                    f"intersection {'&'.join(combo)} must join two or more sensitive features "
                    f"(declared: {', '.join(sorted(sensitive))})"
                )
        roles = [s.role for s in self.sources]
        if self.split.kind == "roles" and any(r is None for r in roles):
            raise ValueError("split.kind 'roles' needs a role (e.g. train, test) on every source")
        if len(self.sources) > 1 and self.split.kind != "roles":
            raise ValueError("several sources need split.kind 'roles' and a role on each source")
        ids = [m.id for m in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("model ids must be unique")
        return self

    @property
    def sensitive_columns(self) -> list[str]:
        """Names of the sensitive feature columns, in declared order."""
        return [s.column for s in self.sensitive]

    @property
    def min_group_size(self) -> int:
        """The minimum group size below which groups are flagged and suppressed."""
        return self.thresholds.min_group_size

    def column_type(self, name: str) -> str | None:
        """Return the declared type of column ``name``, or None if undeclared."""
        col = self.columns.get(name)
        if col is None:
            return None
        return col if isinstance(col, str) else col.type


def parse_spec(data: Any, *, path: str = "<spec>", text: str | None = None) -> DatasetSpec:
    """Validate a parsed YAML mapping as a :class:`DatasetSpec`.

    Parameters
    ----------
    data : Any
        The parsed YAML document.
    path : str
        File name used in error messages.
    text : str, optional
        The YAML text, used to find the line of a bad field.

    Returns
    -------
    DatasetSpec
        The validated spec.

    Raises
    ------
    SpecError
        One line naming the file, line, field and the fix.
    """
    if not isinstance(data, dict):
        raise SpecError(
            "a spec must be a YAML mapping of fields (name, title, sources, ...)",
            where=path,
            fix="start the file with 'name: <dataset name>'",
        )
    try:
        return DatasetSpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, DatasetSpec, path=path, text=text) from None


def load_spec(path: str | Path) -> DatasetSpec:
    """Read and validate a spec file.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.

    Returns
    -------
    DatasetSpec
        The validated spec.

    Raises
    ------
    SpecError
        When the file is missing, is not valid YAML or is not a valid spec.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            "spec file not found",
            where=str(path),
            fix="check the path (specs live in datasets_spec/*.yaml)",
        ) from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
        reason = "is a folder" if isinstance(exc, IsADirectoryError) else "is not readable UTF-8"
        raise SpecError(
            f"spec {reason}", where=str(path), fix="pass a YAML spec file"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, str(path)) from None
    return parse_spec(data, path=str(path), text=text)


def spec_digest(spec: DatasetSpec) -> str:
    """Return the sha256 of the spec's canonical JSON (recorded as provenance).

    Parameters
    ----------
    spec : DatasetSpec
        A validated spec.

    Returns
    -------
    str
        Hex sha256 digest.
    """
    payload = json.dumps(
        spec.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of :class:`DatasetSpec` (``datasets_spec/schema.json``)."""
    schema = DatasetSpec.model_json_schema(by_alias=True)
    schema["$id"] = "https://fairledger.dev/schema/dataset-spec.json"
    schema["title"] = "fairledger dataset spec"
    return schema


if __name__ == "__main__":  # pragma: no cover - `python -m pipelines.spec > schema.json`
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
