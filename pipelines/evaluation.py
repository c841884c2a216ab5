"""Data-side steps of evaluating one model on one dataset version.

The flow (:mod:`flows.evaluate`) chains them with the audit: :func:`preflight`
checks a model against the version before anything runs (files, sha256,
loading, features, output shape, prediction ids), :func:`evaluation_key`
names what determines a result (for reuse), :func:`prepare_scorer` loads the
model or trains a baseline into the result's staging folder, and
:func:`dataset_section` / :func:`model_section` describe both in result.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.evaluate import choose_splits, torch_threads
from pipelines.ledger_io import sha256_file
from pipelines.ledger_read import read_manifest, split_path, version_dir
from pipelines.models import check_sha256, load_baseline_file, load_scorer, model_path
from pipelines.results import code_digest, reuse_key
from pipelines.spec import BaselineModel, DatasetSpec

__all__ = ["BASELINE_FILE", "model_file_sha256", "evaluation_key", "prepare_scorer",
           "preflight", "dataset_section", "model_section", "version_splits"]

#: File name of a trained baseline inside its result folder.
BASELINE_FILE = "model.pt"


def version_splits(home: Path, name: str, version: str) -> list[str]:
    """Return the split names of a version."""
    return sorted(read_manifest(home, name, version)["splits"])


def model_file_sha256(ms: Any, spec_dir: Path) -> str | None:
    """Check a model's file against its declared sha256 (None for kinds without a file).

    Raises
    ------
    ModelError
        When the file is missing or its sha256 differs.
    """
    raw = {"torchscript": "path", "predictions": "path", "torch_state_dict": "weights"}
    field_name = raw.get(ms.kind)
    if field_name is None:
        return None
    path = model_path(getattr(ms, field_name), spec_dir, ms.id, field_name)
    return check_sha256(path, ms.sha256, ms.id)


def evaluation_key(spec: DatasetSpec, ms: Any, version: str, spec_dir: Path, *,
                   n_boot: int, seed: int) -> str:
    """Return the reuse key: dataset version, model (and file sha256), settings, code."""
    from importlib.metadata import version as dist_version

    return reuse_key(
        dataset_version=version, model=ms.model_dump(mode="json", by_alias=True),
        model_sha256=model_file_sha256(ms, spec_dir),
        label=spec.label.model_dump(mode="json"), sensitive=spec.sensitive_columns,
        intersections=spec.intersections, id_column=spec.id_column,
        thresholds=spec.thresholds.model_dump(mode="json"), n_boot=n_boot, seed=seed,
        code=code_digest(), torch=dist_version("torch"),
    )


def prepare_scorer(spec: DatasetSpec, ms: Any, *, home: Path, version: str, spec_dir: Path,
                   staging: Path) -> tuple[Any, dict[str, Any] | None]:
    """Load the model's scorer; a baseline is trained on the train split first.

    Returns
    -------
    (Scorer, dict or None)
        The scorer and, for a baseline, what training used (split, rows, file).
    """
    if not isinstance(ms, BaselineModel):
        return load_scorer(ms, spec_dir, id_column=spec.id_column), None
    from pipelines.baselines import train_baseline

    splits = version_splits(home, spec.name, version)
    train_split = "train" if "train" in splits else splits[0]
    train = pq.read_table(split_path(home, spec.name, version, train_split))
    blob = train_baseline(ms, train, label=spec.label.column, positive=spec.label.positive,
                          id_column=spec.id_column, sensitive=spec.sensitive_columns)
    target = staging / BASELINE_FILE
    target.write_bytes(blob)
    scorer = load_baseline_file(target, ms.id)
    training = {"split": train_split, "rows": train.num_rows, "file": BASELINE_FILE,
                "deterministic": True, "threads": 1, "seed": ms.seed, "epochs": ms.epochs}
    return scorer, training


def preflight(spec: DatasetSpec, ms: Any, *, home: Path, version: str, spec_dir: Path) -> None:
    """Check a model against a version before an evaluation starts.

    Loads the model (sha256, TorchScript, state-dict keys), runs it on the
    first rows of the first evaluated split (output shape) and, for a
    predictions file, matches its ids with the evaluated rows.

    Raises
    ------
    ModelError, DataError, ArgumentError
        One line saying what is wrong with the model.
    """
    splits = choose_splits(ms, version_splits(home, spec.name, version))
    paths = [split_path(home, spec.name, version, s) for s in splits]
    if isinstance(ms, BaselineModel):
        from pipelines.baselines import select_features

        select_features(ms, pq.read_schema(paths[0]), label=spec.label.column,
                        id_column=spec.id_column, sensitive=spec.sensitive_columns)
        return
    scorer = load_scorer(ms, spec_dir, id_column=spec.id_column)
    with torch_threads(None, needed=hasattr(scorer, "module")):
        if ms.kind == "predictions":
            for path in paths:
                for batch in pq.ParquetFile(path).iter_batches(columns=scorer.columns):
                    scorer.scores(batch)
            scorer.finish()
            return
        pf = pq.ParquetFile(paths[0])
        batch = next(pf.iter_batches(batch_size=8, columns=scorer.columns), None)
        if batch is not None:
            scorer.scores(batch)


def dataset_section(home: Path, name: str, version: str, splits: list[str],
                    rows: int) -> dict[str, Any]:
    """Return result.json's ``dataset`` section (with the manifest's sha256)."""
    every = version_splits(home, name, version)
    return {"name": name, "version": version,
            "split": "all" if sorted(splits) == every and len(every) > 1 else "+".join(splits),
            "splits": list(splits), "rows": rows,
            "manifest_sha256": sha256_file(version_dir(home, name, version) / "manifest.json")}


def model_section(ms: Any, scorer: Any) -> dict[str, Any]:
    """Return result.json's ``model`` section."""
    return {"id": ms.id, "kind": ms.kind, "sha256": scorer.sha256, "threshold": ms.threshold,
            "direction": ms.direction, "inputs": list(scorer.columns),
            "description": ms.description,
            "spec": ms.model_dump(mode="json", by_alias=True, exclude_none=True)}
