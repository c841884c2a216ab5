"""Build real dataset versions for the dataset-audit tests, without Prefect.

Uses the same code path as ``fairledger build`` below the flow: sources are
resolved through the mirror (sha256 verified), ingested and split by
``pipelines.building.stream_into`` and published into a ledger by
``pipelines.store.Staging``.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.building import source_records, split_definition, stream_into
from pipelines.sources import resolve_source
from pipelines.spec import DatasetSpec, load_spec, spec_digest
from pipelines.store import Staging

__all__ = ["SPECS", "build_version"]

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"


def build_version(spec_path: Path, home: Path, mirror: Path | None = None
                  ) -> tuple[DatasetSpec, str, dict[str, Path]]:
    """Publish one version of ``spec_path`` into ``home``; return spec, version, split paths."""
    spec = load_spec(spec_path)
    resolved = [resolve_source(spec, s, home=home,
                               mirrors=[mirror] if mirror else None) for s in spec.sources]
    with Staging(home, spec.name) as staging:
        stream_into(spec, resolved, staging)
        result = staging.publish(sources=source_records(resolved), spec_digest=spec_digest(spec),
                                 split_definition=split_definition(spec))
    paths = {k: result.path / "data" / f"{k}.parquet" for k in result.rows}
    return spec, result.version, paths
