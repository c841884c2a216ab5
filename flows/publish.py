"""The ``publish_benchmark`` flow: the whole job behind ``fairledger run``.

build_dataset -> evaluate_models -> report + policy bundle -> Prefect
artifacts. Orchestration only: every step is a flow or task that calls
:mod:`pipelines` or :mod:`audits`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

__all__ = ["publish_benchmark", "outputs_dir"]


def outputs_dir(home: Path, name: str, version: str) -> Path:
    """Folder of the report and policy bundle of one version (outside the version)."""
    return Path(home) / "reports" / name / version


def _outputs_key(inputs: dict[str, Any]) -> str:
    """Digest of everything the report and bundle are rendered from (inputs and code)."""
    import hashlib

    from pipelines.building import code_digest
    from pipelines.store import canonical_json

    doc = {
        "spec": inputs["spec"].model_dump(mode="json", by_alias=True),
        **{k: inputs[k] for k in ("manifest", "quality", "audit", "results")},
        "code": code_digest(("audits",), "*"),
    }
    return hashlib.sha256(canonical_json(doc)).hexdigest()


@task(name="write-report-and-bundle", cache_policy=NONE)
def write_outputs(home: Path, name: str, version: str, spec_path: str) -> dict[str, Any]:
    """Render the HTML report and the policy bundle (unless unchanged since the last run).

    Returns their paths, whether they were reused, the Markdown summary and
    the results they were rendered from.
    """
    import json

    from audits.export import build_bundle
    from audits.report.html import render_html
    from audits.report.markdown import render_markdown
    from flows.commands.report import load_inputs, write_text_atomic
    from pipelines.faults import fault_point
    from pipelines.ledger_io import clean_stale
    from pipelines.store import atomic_write_bytes, canonical_json, sha256_file

    inputs = load_inputs(home, name, version, spec_path)
    folder = outputs_dir(home, name, version)
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale(folder)  # temporaries of killed exports
    report, bundle = folder / "report.html", folder / "policy-bundle.zip"
    record = folder / "outputs.json"
    key = _outputs_key(inputs)
    try:
        known = json.loads(record.read_bytes())
        reused = known["key"] == key and all(
            sha256_file(folder / f) == sha for f, sha in known["files"].items()
        )
    except (OSError, ValueError, KeyError):
        reused = False
    if not reused:
        write_text_atomic(report, render_html(**inputs))
        build_bundle(**inputs, out=bundle, on_step=fault_point)
        files = {p.name: sha256_file(p) for p in (report, bundle)}
        atomic_write_bytes(record, canonical_json({"key": key, "files": files}))
    return {
        "report": str(report),
        "bundle": str(bundle),
        "outputs_reused": reused,
        "markdown": render_markdown(**inputs),
        "results": inputs["results"],
    }


@task(name="publish-artifacts", cache_policy=NONE)
def artifacts(results: list[dict[str, Any]], markdown: str) -> None:
    """Attach the result summary and tables to the flow run."""
    from flows.artifacts import publish_artifacts

    publish_artifacts(results, markdown)


@flow(name="publish_benchmark")
def publish_benchmark(
    spec_path: str,
    home: str,
    threads: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    reuse: bool = True,
) -> dict[str, Any]:
    """Build, evaluate and publish one benchmark dataset with its report and bundle.

    Parameters
    ----------
    spec_path : str
        The dataset spec.
    home : str
        The ledger folder.
    threads : int, optional
        torch threads for inference.
    n_boot : int
        Bootstrap replicates for disparity intervals.
    seed : int
        Seed of the bootstrap.
    reuse : bool
        Reuse evaluations whose dataset version, model and code are unchanged.

    Returns
    -------
    dict
        ``build`` (the build summary), ``evaluation`` (results and
        leaderboard), ``report`` and ``bundle`` paths; with
        ``status="quarantined"`` and no evaluation when the gate failed.
    """
    from flows.build import build_dataset
    from flows.evaluate import evaluate_models

    built = build_dataset(spec_path, home)
    if built["status"] == "quarantined":
        return {"status": "quarantined", "build": built}
    evaluation = evaluate_models(
        spec_path, home, version=built["version"], threads=threads, reuse=reuse,
        n_boot=n_boot, seed=seed,
    )
    out = write_outputs(Path(home), built["name"], built["version"], spec_path)
    artifacts(out.pop("results"), out.pop("markdown"))
    return {"status": built["status"], "build": built, "evaluation": evaluation, **out}
