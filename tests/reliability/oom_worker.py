"""Subprocess: run ``fairledger build`` through ``flows.cli.main`` under an RLIMIT_AS cap.

``python oom_worker.py HOME SPEC HEADROOM_MB`` imports everything a build
needs, replaces the Prefect tasks and flow of :mod:`flows.build` by their
plain functions (no Prefect server, as ``worker.py`` does), caps its virtual
memory at its current size plus HEADROOM_MB, then runs the real command
line; its exit code is the CLI's. Prints ``peak <KiB>`` (ru_maxrss) and
``address space growth <KiB>`` (VmPeak minus VmSize before the build) at the end.
A HEADROOM_MB of 0 runs the same build without any cap (to measure its peak).
"""

from __future__ import annotations

import logging
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _vm_bytes(field: str = "VmSize") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field}")


def _warm_threads(home: str, spec_path: str) -> None:
    """Start Arrow's thread pools before the cap: glibc aborts a thread it cannot create."""
    from pipelines.ingest import iter_batches
    from pipelines.sources import resolve_source
    from pipelines.spec import load_spec

    spec = load_spec(spec_path)
    for source in spec.sources:
        batches = iter_batches(spec, resolve_source(spec, source, home=Path(home)))
        next(iter(batches), None)


def main(home: str, spec: str, headroom_mb: int) -> int:
    """Run the capped build; return the CLI's exit code."""
    import great_expectations  # noqa: F401  (imported before the cap, like a warm CLI)
    import pyarrow.parquet  # noqa: F401
    from prefect import Task

    import audits.dataset_audit  # noqa: F401
    import pipelines.quality  # noqa: F401
    from flows import build as fb
    from flows import cli

    for attr, value in list(vars(fb).items()):
        if isinstance(value, Task):
            setattr(fb, attr, value.fn)
    fb.build_dataset = fb.build_dataset.fn  # type: ignore[assignment]
    fb.get_run_logger = lambda: logging.getLogger("fairledger.oom")  # type: ignore[assignment,misc]
    _warm_threads(home, spec)
    start = _vm_bytes()
    if headroom_mb > 0:
        limit = start + headroom_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    code = cli.main(["build", spec, "--home", home])
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
    print(f"address space growth {(_vm_bytes('VmPeak') - start) >> 10}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
