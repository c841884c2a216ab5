"""Subprocess: ingest and publish a spec under an address-space limit (RLIMIT_AS).

``python resource_worker.py HOME SPEC HEADROOM_MB`` imports what it needs,
then caps its virtual memory at its current size plus HEADROOM_MB and runs
resolve -> ingest/split -> publish. Prints ``ok <version> <peak rss KiB>``;
a FairledgerError is printed as one ``error: ...`` line with its exit code.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelines.building import source_records, split_definition, stream_into  # noqa: E402
from pipelines.errors import FairledgerError  # noqa: E402
from pipelines.sources import resolve_source  # noqa: E402
from pipelines.spec import load_spec, spec_digest  # noqa: E402
from pipelines.store import Staging  # noqa: E402


def _vm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def main(home: Path, spec_path: str, headroom_mb: int) -> int:
    """Build under the memory cap."""
    spec = load_spec(spec_path)
    limit = _vm_bytes() + headroom_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        resolved = [resolve_source(spec, s, home=home) for s in spec.sources]
        with Staging(home, spec.name) as staging:
            stream_into(spec, resolved, staging)
            out = staging.publish(sources=source_records(resolved),
                                  spec_digest=spec_digest(spec),
                                  split_definition=split_definition(spec))
    except FairledgerError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"ok {out.version} {peak}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
