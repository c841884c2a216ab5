"""The ``evaluate_models`` flow: every model of a spec on a dataset version -> results.

Entry points (what ``fairledger run`` and ``publish_benchmark`` call):

- :func:`evaluate_model` — one model, plain function (no Prefect):
  ``evaluate_model(spec, ms, *, home, version=None, spec_dir, threads=None, reuse=True,
  n_boot=1000, seed=0) -> EvaluationOutcome(model_id, result_path, reused, result)``.
  With ``reuse``, a stored result with the same key (dataset version, model
  and model-file sha256, label/sensitive/thresholds, n_boot, seed, code
  digest, torch version) that still verifies is returned without recomputing.
- :func:`evaluate_models` — the Prefect flow over the spec's models (or one),
  then the leaderboard; returns ``{"name", "version", "results": [...],
  "leaderboard": path}``.
- :func:`check_models` — the pre-flight checks, run before any flow starts.

Each task is one call into :mod:`pipelines` or :mod:`audits`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from pipelines.spec import DatasetSpec, load_spec, spec_digest

__all__ = ["EvaluationOutcome", "evaluate_model", "evaluate_models", "check_models",
           "select_models", "dataset_summaries"]


@dataclass(frozen=True)
class EvaluationOutcome:
    """One model's published result."""

    model_id: str
    result_path: Path
    reused: bool
    result: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly summary (no result body)."""
        return {"model": self.model_id, "result": str(self.result_path), "reused": self.reused,
                "verdict": self.result.get("verdict")}


def select_models(spec: DatasetSpec, model: str | None) -> list[Any]:
    """Return the spec's models, or the one named ``model``.

    Raises
    ------
    NotFoundError
        When the spec has no models or no model with that id.
    """
    from pipelines.errors import NotFoundError

    if not spec.models:
        raise NotFoundError(f"spec {spec.name!r} declares no models", where="models",
                            fix="add a models: block to the spec")
    if model is None:
        return list(spec.models)
    chosen = [m for m in spec.models if m.id == model]
    if not chosen:
        raise NotFoundError(f"model {model!r} is not in spec {spec.name!r}", where="--model",
                            fix=f"use one of: {', '.join(m.id for m in spec.models)}")
    return chosen


def check_models(spec: DatasetSpec, models: list[Any], *, home: Path, version: str | None,
                 spec_dir: Path) -> str:
    """Resolve the version and pre-flight every model; return the version id."""
    from pipelines.evaluation import preflight
    from pipelines.ledger_read import resolve_version

    vid = resolve_version(home, spec.name, version)
    for ms in models:
        preflight(spec, ms, home=home, version=vid, spec_dir=spec_dir)
    return vid


def dataset_summaries(home: Path, name: str, version: str) -> tuple[Any, Any]:
    """Return the version's (representativeness, quality) summaries, None when absent."""
    from pipelines.ledger_read import version_dir

    folder = version_dir(home, name, version)
    rep = quality = None
    if (folder / "audit.json").is_file():
        from audits.dataset_audit import representativeness_summary

        rep = representativeness_summary(json.loads((folder / "audit.json").read_bytes()))
    if (folder / "quality.json").is_file():
        doc = json.loads((folder / "quality.json").read_bytes())
        quality = doc.get("summary", doc) if isinstance(doc, dict) else None
    return rep, quality


def _audit(spec: DatasetSpec, frame: Any, n_boot: int, seed: int) -> tuple[dict, dict, dict]:
    """Audit the predictions; verdicts judge disparities over groups of adequate size."""
    from audits.counts import count_confusion
    from audits.engine import audit_counts
    from audits.verdict import judge, judged_counts
    from pipelines.auc import grouped_auc, roc_auc

    counts = count_confusion(frame, label="label", prediction="prediction",
                             sensitive=spec.sensitive_columns, intersections=spec.intersections)
    from pipelines.progress import step

    size = spec.min_group_size
    with step("bootstrap intervals", 2 * n_boot, unit="replicates") as advance:
        audit = audit_counts(counts, n_boot=n_boot, seed=seed, min_group_size=size).to_dict()
        advance(n_boot)
        large = judged_counts(counts, size)
        disparities = [] if large is None else audit_counts(
            large, n_boot=n_boot, seed=seed, min_group_size=size).disparities
        advance(n_boot)
    audit["disparities_all_groups"] = audit["disparities"]
    audit["disparities"] = disparities
    value, ci = roc_auc(frame.column("label").to_numpy(), frame.column("score").to_numpy())
    features = spec.sensitive_columns + ["&".join(i) for i in spec.intersections]
    auc = {"overall": {"value": value, "ci": ci}, "groups": grouped_auc(frame, features)}
    return audit, judge(audit, spec.thresholds, label=spec.label.column), auc


def evaluate_model(spec: DatasetSpec, ms: Any, *, home: Path, version: str | None = None,
                   spec_dir: Path, threads: int | None = None, reuse: bool = True,
                   n_boot: int = 1000, seed: int = 0) -> EvaluationOutcome:
    """Evaluate one model on a dataset version and publish its result.

    Returns
    -------
    EvaluationOutcome
        Where ``result.json`` is, whether it was reused, and its content.

    Raises
    ------
    FairledgerError
        Bad model or data (exit 2); nothing is written then.
    """
    from pipelines import evaluation as ev
    from pipelines import results as rs
    from pipelines.evaluate import choose_splits, run_inference
    from pipelines.ledger_read import resolve_version, split_path

    home = Path(home)
    vid = resolve_version(home, spec.name, version)
    key = ev.evaluation_key(spec, ms, vid, spec_dir, n_boot=n_boot, seed=seed)
    target = rs.model_dir(home, spec.name, vid, ms.id)
    found = rs.find_reusable(home, spec.name, vid, ms.id, key) if reuse else None
    if found is not None:
        return EvaluationOutcome(ms.id, target / "result.json", True, found)
    splits = choose_splits(ms, ev.version_splits(home, spec.name, vid))
    files = [(s, split_path(home, spec.name, vid, s)) for s in splits]
    staging = rs.new_staging(home, spec.name, vid)
    try:
        scorer, training = ev.prepare_scorer(spec, ms, home=home, version=vid,
                                             spec_dir=spec_dir, staging=staging)
        inf = run_inference(scorer, files, staging / "predictions.parquet",
                            label=spec.label.column, positive=spec.label.positive,
                            sensitive=spec.sensitive_columns, id_column=spec.id_column,
                            threshold=ms.threshold, direction=ms.direction, threads=threads)
        audit, judged, auc = _audit(spec, inf.frame, n_boot, seed)
        rep, quality = dataset_summaries(home, spec.name, vid)
        stored = {p.name: rs.sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file()}
        doc = rs.build_result(
            dataset=ev.dataset_section(home, spec.name, vid, splits, inf.rows),
            model=ev.model_section(ms, scorer),
            prov=rs.provenance(seed=seed, n_boot=n_boot, spec_digest=spec_digest(spec), key=key,
                               threads=threads, training=training),
            audit=audit, judged=judged, auc=auc, representativeness=rep, quality=quality,
            files=stored)
        path = rs.commit_staging(staging, target, doc)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return EvaluationOutcome(ms.id, path, False, doc)


@task(name="evaluate-model", cache_policy=NONE)
def evaluate_model_task(spec: DatasetSpec, ms: Any, home: Path, version: str, spec_dir: Path,
                        threads: int | None, reuse: bool, n_boot: int,
                        seed: int) -> EvaluationOutcome:
    """Evaluate and publish one model (see :func:`evaluate_model`)."""
    return evaluate_model(spec, ms, home=home, version=version, spec_dir=spec_dir,
                          threads=threads, reuse=reuse, n_boot=n_boot, seed=seed)


@task(name="write-leaderboard", cache_policy=NONE)
def leaderboard_task(home: Path, name: str, version: str) -> Path:
    """Rebuild the version's leaderboard.parquet."""
    from pipelines.leaderboard import write_leaderboard

    return write_leaderboard(home, name, version)


@flow(name="evaluate_models")
def evaluate_models(spec_path: str, home: str, version: str | None = None,
                    model: str | None = None, threads: int | None = None, reuse: bool = True,
                    n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Evaluate the spec's models (or ``model``) on a version; publish results and leaderboard.

    Returns
    -------
    dict
        ``name``, ``version``, ``results`` (one :meth:`EvaluationOutcome.to_dict`
        per model) and ``leaderboard`` (its path).
    """
    from pipelines.building import spec_dir as folder_of

    spec = load_spec(spec_path)
    ledger = Path(home)
    models = select_models(spec, model)
    vid = check_models(spec, models, home=ledger, version=version, spec_dir=folder_of(spec_path))
    outcomes = [evaluate_model_task(spec, ms, ledger, vid, folder_of(spec_path), threads, reuse,
                                    n_boot, seed) for ms in models]
    board = leaderboard_task(ledger, spec.name, vid)
    return {"name": spec.name, "version": vid, "results": [o.to_dict() for o in outcomes],
            "leaderboard": str(board)}
