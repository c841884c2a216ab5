"""Subprocess worker: one build, evaluation or export, called without a Prefect server.

``python worker.py build|evaluate|export|all HOME SPEC [--no-reuse]`` runs the
same task functions the flows run (their ``.fn``), so the fault points in
``flows/build.py`` and in the pipelines fire, without the start-up cost of
a Prefect server. Prints one JSON line with what it did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def build(home: Path, spec_path: str) -> dict[str, Any]:
    """Resolve, ingest, gate, audit and publish, as ``flows.build.build_dataset`` does."""
    from flows import build as fb
    from pipelines.building import spec_dir
    from pipelines.spec import load_spec
    from pipelines.store import Staging

    spec = load_spec(spec_path)
    resolved = fb.resolve_sources.fn(spec, home)
    with Staging(home, spec.name) as staging:
        fb.ingest_and_split.fn(spec, resolved, staging)
        paths = staging.close_writers()
        report = fb.quality_gate.fn(spec, paths, None)
        if not report.success:
            return fb._quarantine(staging, report)
        staging.add_json("quality.json", report.to_dict())
        staging.add_json("spec.json", spec.model_dump(mode="json", by_alias=True))
        staging.add_json("audit.json", fb.audit_staged.fn(spec, paths, spec_dir(spec_path)))
        out = fb.publish_version.fn(spec, staging, resolved, 600.0)
    return {"status": out.status, "version": out.version}


def evaluate(home: Path, spec_path: str, reuse: bool) -> dict[str, Any]:
    """Evaluate every model of the spec on the latest version and write the leaderboard."""
    from flows.evaluate import evaluate_model
    from pipelines.building import spec_dir
    from pipelines.leaderboard import write_leaderboard
    from pipelines.spec import load_spec

    spec = load_spec(spec_path)
    outs = [evaluate_model(spec, ms, home=home, spec_dir=spec_dir(spec_path), reuse=reuse,
                           n_boot=50) for ms in spec.models]
    if outs:
        version = json.loads(outs[0].result_path.read_bytes())["dataset"]["version"]
        write_leaderboard(home, spec.name, version)
    return {"results": [str(o.result_path) for o in outs], "reused": [o.reused for o in outs]}


def export(home: Path, spec_path: str) -> dict[str, Any]:
    """Write the report and policy bundle of the latest version under ``reports/``."""
    from flows.publish import write_outputs
    from pipelines.spec import load_spec
    from pipelines.store import resolve_version

    spec = load_spec(spec_path)
    version = resolve_version(home, spec.name, None)
    out = write_outputs.fn(home, spec.name, version, spec_path)
    return {"bundle": out["bundle"]}


def main(argv: list[str]) -> int:
    """Run the requested steps; print a JSON summary."""
    mode, home, spec_path = argv[0], Path(argv[1]), argv[2]
    reuse = "--no-reuse" not in argv
    steps = ["build", "evaluate", "export"] if mode == "all" else [mode]
    done: dict[str, Any] = {}
    for step in steps:
        if step == "build":
            done["build"] = build(home, spec_path)
        elif step == "evaluate":
            done["evaluate"] = evaluate(home, spec_path, reuse)
        else:
            done["export"] = export(home, spec_path)
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
