"""Reference populations: load and validate ``datasets_spec/references/*.yaml``.

A reference file (format ``fairledger.reference/1``) holds, per sensitive
feature of one dataset, the shares (and counts where known) of a reference
population with its universe, year, source and caveats, and a ``mapping``
from dataset categories to reference categories. Dataset categories that
have no counterpart are listed under ``no_counterpart``: the audit reports
them and leaves them out of the comparison, it never drops them silently.

Every problem is one :class:`~pipelines.errors.SpecError` line naming the
file and the key (``features.race.shares``) and how to fix it (exit code 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import SpecError
from pipelines.spec import DatasetSpec

__all__ = [
    "REFERENCE_FORMAT",
    "DEFAULT_TOLERANCE",
    "FeatureReference",
    "Reference",
    "load_reference",
    "parse_reference",
    "reference_for",
]

REFERENCE_FORMAT = "fairledger.reference/1"
#: Tolerance on the sum of shares when a file states none (6-decimal rounding).
DEFAULT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class FeatureReference:
    """The reference marginal of one sensitive feature and its mapping."""

    feature: str
    dimension: str
    shares: dict[str, float]
    mapping: dict[str, str]
    no_counterpart: tuple[str, ...] = ()
    counts: dict[str, float] | None = None
    universe: str | None = None
    year: int | None = None
    source: dict[str, Any] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()

    def citation(self) -> str:
        """Return a one-line citation of the source of this marginal."""
        parts = [self.source.get(k) for k in ("publisher", "title", "table", "url")]
        text = "; ".join(str(p) for p in parts if p)
        return f"{text} ({self.year})" if self.year else text


@dataclass(frozen=True)
class Reference:
    """A validated reference file."""

    path: str
    name: str
    title: str
    status: str
    tolerance: float
    features: dict[str, FeatureReference]
    caveats: tuple[str, ...] = ()


def _fail(path: str, key: str, message: str, fix: str) -> SpecError:
    return SpecError(message, where=f"{path}: {key}", fix=fix)


def _mapping_of(value: Any, path: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise _fail(path, key, f"'{key}' must be a non-empty mapping", "see datasets_spec/"
                    "references/compas_broward.yaml for the layout")
    return {str(k): v for k, v in value.items()}


def _shares(raw: Any, path: str, key: str, tolerance: float) -> dict[str, float]:
    shares = _mapping_of(raw, path, key)
    out: dict[str, float] = {}
    for cat, value in shares.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0
        ):
            raise _fail(path, f"{key}.{cat}", f"share {value!r} is not a number >= 0",
                        "write the share as a decimal fraction, e.g. 0.2348")
        out[cat] = float(value)
    total = math.fsum(out.values())
    if abs(total - 1.0) > tolerance:
        raise _fail(path, key, f"shares sum to {total:.6f}, not 1 within tolerance {tolerance:g}",
                    "correct the shares (they are fractions of the reference population)")
    return out


def _strings(raw: Any, path: str, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(path, key, f"'{key}' must be a list", "write a YAML list")
    return tuple(str(x) for x in raw)


def _check_mapping(
    feat: FeatureReference, declared: list[str] | None, path: str, key: str
) -> None:
    for cat, target in feat.mapping.items():
        if target not in feat.shares:
            raise _fail(path, f"{key}.mapping.{cat}",
                        f"mapping sends '{cat}' to '{target}', which is not a reference "
                        f"category of '{feat.feature}'",
                        f"use one of: {', '.join(feat.shares)}")
    both = sorted(set(feat.mapping) & set(feat.no_counterpart))
    if both:
        raise _fail(path, f"{key}.no_counterpart", f"'{both[0]}' is both mapped and listed "
                    "under no_counterpart", "keep it in one of the two")
    if declared is None:
        return
    for cat in list(feat.mapping) + list(feat.no_counterpart):
        if cat not in declared:
            where = "mapping" if cat in feat.mapping else "no_counterpart"
            raise _fail(path, f"{key}.{where}.{cat}" if where == "mapping" else f"{key}.{where}",
                        f"'{cat}' is not a category of the dataset's feature '{feat.feature}'",
                        f"use one of the declared categories: {', '.join(declared)}")
    for cat in declared:
        if cat not in feat.mapping and cat not in feat.no_counterpart:
            raise _fail(path, f"{key}.mapping", f"dataset category '{cat}' is neither mapped "
                        "nor listed under no_counterpart",
                        f"map '{cat}' to a reference category or list it under no_counterpart")


def _feature(
    name: str, raw: Any, doc: dict[str, Any], path: str, tolerance: float
) -> FeatureReference:
    key = f"features.{name}"
    body = _mapping_of(raw, path, key)
    shares = _shares(body.get("shares"), path, f"{key}.shares", tolerance)
    mapping = {str(k): str(v) for k, v in _mapping_of(
        body.get("mapping"), path, f"{key}.mapping").items()}
    sources = doc.get("sources") or {}
    source_key = body.get("source")
    if source_key is not None and source_key not in sources:
        raise _fail(path, f"{key}.source", f"source '{source_key}' is not listed under sources",
                    f"use one of: {', '.join(sources) or '(none: add a sources: section)'}")
    counts = body.get("counts")
    return FeatureReference(
        feature=name, dimension=str(body.get("dimension", name)), shares=shares, mapping=mapping,
        no_counterpart=_strings(body.get("no_counterpart"), path, f"{key}.no_counterpart"),
        counts={str(k): float(v) for k, v in counts.items()} if isinstance(counts, dict) else None,
        universe=body.get("universe"), year=body.get("year"),
        source=dict(sources.get(source_key, {})) if source_key else {},
        caveats=_strings(body.get("caveats"), path, f"{key}.caveats"),
    )


def parse_reference(
    doc: Any, *, path: str = "<reference>", spec: DatasetSpec | None = None
) -> Reference:
    """Validate a parsed reference document, optionally against a dataset spec.

    Parameters
    ----------
    doc : Any
        The parsed YAML document.
    path : str
        File name used in error messages.
    spec : DatasetSpec, optional
        When given, every reference feature must be a sensitive feature of the
        spec, and mapped categories must be among its declared categories.

    Returns
    -------
    Reference
        The validated reference.

    Raises
    ------
    SpecError
        One line naming the file and key: shares not summing to 1 within the
        tolerance, a mapping naming a category one side lacks, a feature the
        spec does not declare.
    """
    if not isinstance(doc, dict):
        raise _fail(path, "(top)", "a reference file must be a YAML mapping",
                    "start the file with 'format: fairledger.reference/1'")
    if doc.get("format") != REFERENCE_FORMAT:
        raise _fail(path, "format", f"format must be '{REFERENCE_FORMAT}'",
                    f"add 'format: {REFERENCE_FORMAT}'")
    tolerance = doc.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (
        0 <= tolerance < 0.1
    ):
        raise _fail(path, "tolerance", f"tolerance {tolerance!r} must be a number in [0, 0.1)",
                    "state the rounding tolerance, e.g. 1.0e-5")
    features_raw = _mapping_of(doc.get("features"), path, "features")
    declared = {s.column: s for s in spec.sensitive} if spec else None
    features = {}
    for name, raw in features_raw.items():
        if declared is not None and name not in declared:
            raise _fail(path, f"features.{name}", f"'{name}' is not a sensitive feature of "
                        f"spec '{spec.name if spec else ''}'",
                        f"declare it under sensitive: or remove it (declared: "
                        f"{', '.join(declared)})")
        feat = _feature(name, raw, doc, path, float(tolerance))
        cats = declared[name].categories if declared is not None else None
        _check_mapping(feat, cats, path, f"features.{name}")
        features[name] = feat
    return Reference(
        path=path, name=str(doc.get("name", Path(path).stem)), title=str(doc.get("title", "")),
        status=str(doc.get("status", "found")), tolerance=float(tolerance), features=features,
        caveats=_strings(doc.get("caveats"), path, "caveats"),
    )


def load_reference(path: str | Path, *, spec: DatasetSpec | None = None) -> Reference:
    """Read and validate a reference file.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.
    spec : DatasetSpec, optional
        The dataset spec it must agree with (see :func:`parse_reference`).

    Returns
    -------
    Reference
        The validated reference.

    Raises
    ------
    SpecError
        When the file is missing, not YAML, or invalid.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise SpecError("reference file not found or not readable", where=str(p),
                        fix="check reference.file in the spec (relative to the spec's folder)"
                        ) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise SpecError("reference file is not valid YAML", where=where,
                        fix="fix the YAML syntax at that line") from None
    return parse_reference(doc, path=str(p), spec=spec)


def reference_for(spec: DatasetSpec, spec_dir: Path) -> Reference | None:
    """Load the reference a spec links to, keeping the features it asks for.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec; ``spec.reference.file`` is relative to ``spec_dir``.
    spec_dir : pathlib.Path
        The folder of the spec file.

    Returns
    -------
    Reference or None
        None when the spec links no reference.

    Raises
    ------
    SpecError
        When the file is invalid or ``reference.features`` names a feature it lacks.
    """
    link = spec.reference
    if link is None:
        return None
    ref = load_reference(Path(spec_dir) / link.file, spec=spec)
    if link.features is None:
        return ref
    for name in link.features:
        if name not in ref.features:
            raise _fail(ref.path, "features", f"the spec asks for feature '{name}', which the "
                        "reference does not have", f"use one of: {', '.join(ref.features)}")
    kept = {k: v for k, v in ref.features.items() if k in link.features}
    return Reference(ref.path, ref.name, ref.title, ref.status, ref.tolerance, kept, ref.caveats)
