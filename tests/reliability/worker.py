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
    """Run the body of ``flows.build.build_dataset`` with its tasks as plain functions."""
    import logging

    from prefect import Task

    from flows import build as fb

    for attr, value in list(vars(fb).items()):
        if isinstance(value, Task):
            setattr(fb, attr, value.fn)
    fb.get_run_logger = lambda: logging.getLogger("fairledger.worker")  # type: ignore[attr-defined]
    out = fb.build_dataset.fn(spec_path, str(home))
    return {"status": out["status"], "version": out["version"]}


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
        version = outs[0].result["dataset"]["version"]  # not a re-read of a 200 MB file
        write_leaderboard(home, spec.name, version)
    return {"results": [str(o.result_path) for o in outs], "reused": [o.reused for o in outs]}


def export(home: Path, spec_path: str) -> dict[str, Any]:
    """Write the report and policy bundle of the latest version under ``reports/``."""
    from flows.publish import write_outputs
    from pipelines.spec import load_spec
    from pipelines.store import resolve_version

    spec = load_spec(spec_path)
    version = resolve_version(home, spec.name, None)
    record = home / "reports" / spec.name / version / "outputs.json"
    record.unlink(missing_ok=True)  # force a re-render (the flow skips unchanged outputs)
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
