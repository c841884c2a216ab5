"""The dataset audit (``audit.json``): who is in the data, who is missing, how labels differ.

:func:`audit_dataset` streams once over the Parquet files of a dataset
version (every split, batch by batch) and feeds each batch to

* the counts engine (:func:`audits.counts.count_labels`): rows, labelled rows
  and positive labels per group of every sensitive feature, every declared
  intersection and the joint table of all sensitive features, merged per
  split by addition;
* :class:`audits.proxies.ProxyAccumulator` and
  :class:`audits.missingness.MissingnessAccumulator`.

From those counts it derives representativeness against the spec's
reference population (:mod:`audits.representativeness`), base rates and
label parity (:mod:`audits._label_bias`), coverage (:mod:`audits.coverage`),
proxies, missingness by group, and the findings. Memory depends on the
number of groups and columns, not on the number of rows.

A row whose label is missing counts towards its group's size but not its
base rate (``labelled`` rows are the denominator); the label is counted as
positive when its value is one of ``spec.label.positive``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audits import _dataset_findings as df
from audits._batches import DEFAULT_BATCH_SIZE
from audits._encode import Dictionary, sort_key
from audits._label_bias import base_rate_rows, label_parity
from audits.counts import Counts, GroupCounts, count_labels, level_positions
from audits.coverage import cells_report, maximal_uncovered_patterns
from audits.missingness import MissingnessAccumulator
from audits.proxies import ProxyAccumulator, column_kind
from audits.references import Reference, reference_for
from audits.representativeness import compare_feature
from pipelines.errors import DataError
from pipelines.spec import DatasetSpec

__all__ = ["AUDIT_FORMAT", "audit_dataset", "representativeness_summary"]

AUDIT_FORMAT = "fairledger.dataset_audit/1"
_POS = "__fairledger_positive__"
_KNOWN = "__fairledger_labelled__"
_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


def _label_columns(batch: pa.RecordBatch, spec: DatasetSpec) -> pa.Table:
    """Append the 0/1 positive-label column and the labelled (non-null) weight."""
    label = batch.column(spec.label.column)
    if spec.label.task == "regression" or not spec.label.positive:
        pos = pa.array(np.zeros(len(batch), dtype=bool))
        known = pa.array(np.zeros(len(batch)))
    else:
        try:
            values = pa.array(spec.label.positive).cast(label.type)
            pos = pc.is_in(label, value_set=values)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            values = pa.array([str(v) for v in spec.label.positive])
            pos = pc.is_in(label.cast(pa.string()), value_set=values)
        pos = pc.fill_null(pos, False)
        known = pc.is_valid(label).cast(pa.float64())
    table = pa.Table.from_batches([batch])
    return table.append_column(_POS, pos).append_column(_KNOWN, known)


class _Stream:
    """The state of the one streaming pass."""

    def __init__(self, spec: DatasetSpec, schema: pa.Schema) -> None:
        self.spec = spec
        self.sensitive = spec.sensitive_columns
        self.inters = [tuple(i) for i in spec.intersections]
        full = tuple(self.sensitive)
        self.joint = full if len(full) > 1 and full not in self.inters else None
        self.counts: dict[str, Counts] = {}
        self.dicts = {s: Dictionary() for s in self.sensitive}
        skip = set(self.sensitive) | {spec.label.column, spec.id_column}
        kinds = {f.name: column_kind(f.type) for f in schema if f.name not in skip}
        self.unsupported = sorted(k for k, v in kinds.items() if v is None)
        self.proxies = ProxyAccumulator({k: v for k, v in kinds.items() if v}, self.sensitive)
        self.missing = MissingnessAccumulator(schema.names, self.sensitive)

    def add(self, split: str, batch: pa.RecordBatch) -> None:
        codes = {s: self.dicts[s].encode(batch.column(s)) for s in self.sensitive}
        sizes = {s: len(self.dicts[s]) for s in self.sensitive}
        self.proxies.add(batch, codes, sizes)
        self.missing.add(batch, codes, sizes)
        inters = self.inters + ([self.joint] if self.joint else [])
        part = count_labels(_label_columns(batch, self.spec), label=_POS,
                            sensitive=self.sensitive, intersections=inters, weight=_KNOWN)
        self.counts[split] = part if split not in self.counts else self.counts[split] + part


def _levels(declared: list[str] | None, observed: tuple[str, ...]) -> tuple[str, ...]:
    first = list(declared or [])
    rest = sorted((x for x in observed if x not in first), key=sort_key)
    return tuple(first + rest)


def _expand(gc: GroupCounts, declared: Mapping[str, list[str] | None]
            ) -> tuple[tuple[tuple[str, ...], ...], np.ndarray, np.ndarray, np.ndarray]:
    """Return levels (declared categories first) and n, labelled, positives arrays."""
    pairs = zip(gc.members, gc.levels, strict=True)
    levels = tuple(_levels(declared.get(m), lv) for m, lv in pairs)
    out = np.zeros([len(lv) for lv in levels] + list(gc.table.shape[len(gc.members):]))
    index = [level_positions(lv, t) for lv, t in zip(gc.levels, levels, strict=False)]
    index += [np.arange(k) for k in gc.table.shape[len(gc.members):]]
    out[np.ix_(*index)] = gc.table
    n = out[..., 0].sum(axis=-1)
    return levels, n, out[..., 1].sum(axis=-1), out[..., 1, 0]


def _flat_labels(levels: tuple[tuple[str, ...], ...]) -> list[str]:
    import itertools

    return ["&".join(p) for p in itertools.product(*levels)]


def _label_section(counts: Counts, spec: DatasetSpec, declared: Mapping[str, Any], seed: int
                   ) -> dict[str, Any]:
    if spec.label.task == "regression" or not spec.label.positive:
        return {"undefined": "the label is not binary (no positive values declared)"}
    out: dict[str, Any] = {}
    names = spec.sensitive_columns + ["&".join(i) for i in spec.intersections]
    for index, name in enumerate(names):
        levels, n, lab, pos = _expand(counts.feature(name), declared)
        rows = base_rate_rows(name, _flat_labels(levels), n.ravel(), lab.ravel(), pos.ravel(),
                              spec.min_group_size)
        out[name] = {"groups": rows, "parity": label_parity(rows, seed=seed, index=index)}
    total = counts.overall()
    labelled, positives = float(total[:, 1].sum()), float(total[1, 0])
    overall = {"n": int(total[:, 0].sum()), "labelled": int(labelled),
               "positives": int(positives),
               "base_rate": positives / labelled if labelled else None}
    return {"overall": overall, "features": out}


def _coverage_section(counts: Counts, spec: DatasetSpec, declared: Mapping[str, Any]
                      ) -> dict[str, Any]:
    cells = []
    for combo in spec.intersections:
        levels, n, _, _ = _expand(counts.feature("&".join(combo)), declared)
        cells.append(cells_report("&".join(combo), levels, n, spec.min_group_size))
    joint = counts.feature("&".join(spec.sensitive_columns))
    levels, n, _, _ = _expand(joint, declared)
    patterns = maximal_uncovered_patterns(n, joint.members, levels, spec.min_group_size)
    return {"intersections": cells, "patterns": patterns}


def _single_counts(counts: Counts, name: str, declared: Mapping[str, Any]) -> dict[str, int]:
    levels, n, _, _ = _expand(counts.feature(name), declared)
    return {g: int(k) for g, k in zip(levels[0], n, strict=False)}


def _representativeness(counts: Counts, ref: Reference | None, declared: Mapping[str, Any]
                        ) -> dict[str, Any]:
    if ref is None:
        return {}
    return {name: compare_feature(_single_counts(counts, name, declared), fr)
            for name, fr in ref.features.items()}


def _by_split(stream: _Stream, ref: Reference | None, declared: Mapping[str, Any]
              ) -> dict[str, Any]:
    out = {}
    for split, counts in stream.counts.items():
        total = counts.overall()
        features = {s: _single_counts(counts, s, declared) for s in stream.sensitive}
        entry: dict[str, Any] = {"rows": int(total[:, 0].sum()), "groups": features}
        labelled = float(total[:, 1].sum())
        entry["base_rate"] = float(total[1, 0]) / labelled if labelled else None
        if ref is not None:
            entry["representativeness"] = {
                name: {k: rep[k] for k in ("tvd", "js", "cohens_w")}
                for name, rep in _representativeness(counts, ref, declared).items()}
        out[split] = entry
    return out


def _clean(obj: Any) -> Any:
    """Make ``obj`` JSON-serialisable: numpy scalars to Python, NaN/inf to None."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            cleaned = _clean(value)
            out[key] = cleaned
            if cleaned is None and isinstance(value, (float, np.floating)):
                out.setdefault("undefined", {})
                if isinstance(out["undefined"], dict):
                    out["undefined"][key] = "not defined for these counts (0/0 or < 2 categories)"
        return out
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _stream(spec: DatasetSpec, split_paths: Mapping[str, Path], batch_size: int
            ) -> tuple[_Stream, pa.Schema]:
    if not split_paths:
        raise DataError("no split to audit", fix="pass at least one split Parquet file")
    schema = pq.read_schema(next(iter(split_paths.values())))
    needed = spec.sensitive_columns + [spec.label.column]
    for name in needed:
        if schema.get_field_index(name) < 0:
            raise DataError(f"column '{name}' named by the spec is not in the data",
                            where=str(next(iter(split_paths.values()))),
                            fix="rebuild the dataset with the current spec")
    stream = _Stream(spec, schema)
    for split, path in split_paths.items():
        # no pre-buffering: it caches every column chunk read until the file closes
        pf = pq.ParquetFile(path, read_dictionary=spec.sensitive_columns, pre_buffer=False)
        for batch in pf.iter_batches(batch_size=batch_size, columns=schema.names):
            stream.add(split, batch)
    if not stream.counts:
        raise DataError("the dataset has no rows", where=str(next(iter(split_paths.values()))),
                        fix="check the source and the build")
    return stream, schema


def audit_dataset(
    spec: DatasetSpec, split_paths: Mapping[str, Path], *, spec_dir: Path, seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, Any]:
    """Audit a dataset version: representativeness, label bias, coverage, proxies, missingness.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset's spec (sensitive features, intersections, label, thresholds, reference).
    split_paths : mapping of str to pathlib.Path
        Parquet file of each split; all are audited together and per split.
    spec_dir : pathlib.Path
        Folder of the spec file (``spec.reference.file`` is relative to it).
    seed : int
        Seed of the bootstrap intervals.
    batch_size : int
        Rows per record batch read.

    Returns
    -------
    dict
        The ``audit.json`` content (format ``fairledger.dataset_audit/1``),
        JSON-serialisable: undefined numbers are None, named under ``undefined``.

    Raises
    ------
    SpecError
        When the reference file is invalid (checked before any row is read).
    DataError
        When a spec column is missing from the data or there are no rows.
    """
    ref = reference_for(spec, Path(spec_dir))
    stream, schema = _stream(spec, split_paths, batch_size)
    counts = sum(list(stream.counts.values())[1:], list(stream.counts.values())[0])
    declared = {s.column: s.categories for s in spec.sensitive}
    labels = {s: stream.dicts[s].labels for s in stream.sensitive}
    audit: dict[str, Any] = {
        "format": AUDIT_FORMAT, "dataset": spec.name, "seed": seed,
        "rows": int(counts.overall()[:, 0].sum()),
        "splits": {k: int(v.overall()[:, 0].sum()) for k, v in stream.counts.items()},
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
        "label": {"column": spec.label.column, "positive": list(spec.label.positive),
                  "task": spec.label.task},
        "min_group_size": spec.min_group_size,
        "reference": None if ref is None else {
            "file": spec.reference.file if spec.reference else None, "name": ref.name,
            "title": ref.title, "status": ref.status, "tolerance": ref.tolerance,
            "caveats": list(ref.caveats)},
        "representativeness": _representativeness(counts, ref, declared),
        "label_bias": _label_section(counts, spec, declared, seed),
        "coverage": _coverage_section(counts, spec, declared),
        "proxies": {"columns": stream.proxies.result(), "unsupported": stream.unsupported},
        "missingness": stream.missing.result(labels, spec.min_group_size),
        "by_split": _by_split(stream, ref, declared),
    }
    audit["thresholds"] = {k: df.bound_dict(v) for k, v in df.bounds_for(spec).items()}
    audit["findings"] = df.all_findings(audit, spec, ref)
    worst = max((_SEVERITY[f["severity"]] for f in audit["findings"]), default=0)
    audit["verdict"] = {v: k for k, v in _SEVERITY.items()}[worst]
    return dict(_clean(audit))


def representativeness_summary(audit: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``representativeness`` section of a published result from an audit.

    Parameters
    ----------
    audit : mapping
        The output of :func:`audit_dataset` (or a parsed ``audit.json``).

    Returns
    -------
    dict
        ``{"reference": {...}, "feature": {name: {"tvd", "js", "kl", "chi2", "df",
        "p_value", "cohens_w", "n_compared", "groups": [...], "no_counterpart": [...]}}}``.
    """
    keys = ("tvd", "js", "kl", "chi2", "df", "p_value", "cohens_w", "n", "n_compared",
            "universe", "year", "citation")
    features = {}
    for name, rep in (audit.get("representativeness") or {}).items():
        entry = {k: rep.get(k) for k in keys}
        entry["groups"] = [{k: g.get(k) for k in ("group", "n", "share", "share_ci",
                                                  "reference_share", "ratio", "difference")}
                           for g in rep.get("groups", [])]
        entry["no_counterpart"] = list(rep.get("no_counterpart", []))
        features[name] = entry
    return {"reference": audit.get("reference"), "feature": features}

