"""The ``build_dataset`` flow: resolve, ingest and split, gate, audit, publish.

Orchestration only: each task calls a plain function of :mod:`pipelines`
or :mod:`audits`. A build whose quality gate fails is quarantined and
returns ``status="quarantined"``; the caller turns that into exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from pipelines.faults import fault_point
from pipelines.spec import DatasetSpec, spec_digest

__all__ = ["build_dataset", "build_spec"]


@task(name="resolve-sources", cache_policy=NONE)
def resolve_sources(spec: DatasetSpec, home: Path, progress: bool = False) -> list[Any]:
    """Resolve and verify every source (mirror, cache or download)."""
    from pipelines.sources import resolve_source

    resolved = [resolve_source(spec, s, home=home, progress=progress) for s in spec.sources]
    fault_point("build.after_resolve")
    return resolved


@task(name="ingest-and-split", cache_policy=NONE)
def ingest_and_split(spec: DatasetSpec, resolved: list[Any], staging: Any) -> dict[str, int]:
    """Stream the sources into typed, split Parquet files in the staging folder."""
    from pipelines.building import stream_into

    rows = stream_into(spec, resolved, staging)
    staging.close_writers()
    fault_point("build.after_ingest")
    return rows


@task(name="quality-gate", cache_policy=NONE)
def quality_gate(
    spec: DatasetSpec, split_paths: dict[str, Path], data_docs_dir: Path | None, spec_path: str
) -> Any:
    """Run the Great Expectations gate on the staged splits."""
    from flows.commands.check import reference_partitions
    from pipelines.quality import run_gate

    report = run_gate(
        spec,
        split_paths,
        data_docs_dir=data_docs_dir,
        reference_partitions=reference_partitions(spec, Path(spec_path)),
        path=spec_path,
    )
    fault_point("build.after_gate")
    return report


@task(name="audit-dataset", cache_policy=NONE)
def audit_staged(spec: DatasetSpec, split_paths: dict[str, Path], spec_dir: Path) -> dict:
    """Audit who is in the staged data (representation, base rates, coverage, proxies)."""
    from audits.dataset_audit import audit_dataset

    audit = audit_dataset(spec, split_paths, spec_dir=spec_dir)
    fault_point("build.after_audit")
    return audit


@task(name="publish-version", cache_policy=NONE)
def publish_version(
    spec: DatasetSpec, staging: Any, resolved: list[Any], lock_timeout: float, key: str
) -> Any:
    """Publish the staged version atomically (or find it unchanged)."""
    from pipelines.building import remember_build, source_records, split_definition

    fault_point("build.before_publish")
    result = staging.publish(
        sources=source_records(resolved),
        spec_digest=spec_digest(spec),
        split_definition=split_definition(spec),
        lock_timeout=lock_timeout,
        extra={"build_key": key},
    )
    remember_build(staging.home, spec.name, key, result.version)
    return result


def _quarantine(staging: Any, report: Any) -> dict[str, Any]:
    from pipelines.quality import gate_failure

    staging.add_json("quality.json", report.to_dict())
    where = staging.quarantine("quality gate failed", report.summary())
    return {"status": "quarantined", "error": gate_failure(report, where).line()}


@flow(name="build_dataset")
def build_dataset(
    spec_path: str,
    home: str,
    data_docs: bool = False,
    lock_timeout: float = 600.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Build one dataset version from its spec.

    Parameters
    ----------
    spec_path : str
        The YAML spec.
    home : str
        The ledger folder.
    data_docs : bool
        Also write Great Expectations Data Docs into the version.
    lock_timeout : float
        Seconds to wait for the dataset lock.
    progress : bool
        Show download progress bars.

    Returns
    -------
    dict
        ``name``, ``version``, ``status`` (published / unchanged /
        quarantined), ``rows`` per split, ``previous`` and ``path``.
    """
    from flows.commands._common import preflight_spec
    from pipelines.building import build_key, spec_dir, unchanged_build
    from pipelines.store import Staging

    spec = preflight_spec(spec_path)
    ledger = Path(home)
    resolved = resolve_sources(spec, ledger, progress)
    key = build_key(spec, resolved)
    reused = None if data_docs else unchanged_build(ledger, spec, key)
    if reused is not None:
        get_run_logger().info("%s: sources, spec and code unchanged; reusing %s",
                              spec.name, reused["version"])
        return reused
    with Staging(ledger, spec.name) as staging:
        rows = ingest_and_split(spec, resolved, staging)
        paths = staging.close_writers()
        docs = staging.path / "data_docs" if data_docs else None
        report: Any = quality_gate(spec, paths, docs, spec_path)
        if not report.success:
            failed = _quarantine(staging, report)
            return {"name": spec.name, "version": None, "rows": rows, **failed}
        staging.add_json("quality.json", report.to_dict())
        if docs is not None and docs.is_dir():
            staging.add_tree("data_docs")
        staging.add_json("spec.json", spec.model_dump(mode="json", by_alias=True))
        staging.add_json("audit.json", audit_staged(spec, paths, spec_dir(spec_path)))
        result: Any = publish_version(spec, staging, resolved, lock_timeout, key)
    return {
        "name": result.name,
        "version": result.version,
        "status": result.status,
        "rows": result.rows,
        "previous": result.previous,
        "path": str(result.path),
        "reused": False,
    }


def build_spec(spec_path: str, home: Path, **options: Any) -> dict[str, Any]:
    """Run :func:`build_dataset` as a Prefect flow run and return its summary."""
    return build_dataset(str(spec_path), str(home), **options)
