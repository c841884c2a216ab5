"""Helpers of the evaluation tests: publish versions without Prefect, write specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from pipelines.spec import DatasetSpec, load_spec


def publish_table(home: Path, name: str, splits: dict[str, pa.Table]) -> str:
    """Publish a version made of the given split tables; return its id."""
    from pipelines.store import Staging

    with Staging(home, name) as staging:
        for split, table in splits.items():
            for batch in table.to_batches(max_chunksize=500):
                staging.write_batch(split, batch)
        result = staging.publish(sources=[], spec_digest="test",
                                 split_definition={"kind": "test", "splits": sorted(splits)})
    return result.version


def publish_real(spec_path: Path, home: Path) -> str:
    """Ingest and split a real spec's sources (mirror) and publish them; return the id."""
    from pipelines.building import source_records, split_definition, stream_into
    from pipelines.sources import resolve_source
    from pipelines.spec import spec_digest
    from pipelines.store import Staging

    spec = load_spec(spec_path)
    resolved = [resolve_source(spec, s, home=home) for s in spec.sources]
    with Staging(home, spec.name) as staging:
        stream_into(spec, resolved, staging)
        result = staging.publish(sources=source_records(resolved), spec_digest=spec_digest(spec),
                                 split_definition=split_definition(spec))
    return result.version


def synthetic_table(n: int, seed: int, *, id_start: int = 0) -> pa.Table:
    """Rows with a learnable label, a sensitive group and a categorical column."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    group = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    logit = 1.5 * x1 - x2 + (colour == "red") * 1.0 + (group == "b") * 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pa.table({"id": np.arange(id_start, id_start + n, dtype=np.int64), "x1": x1,
                     "x2": x2, "colour": colour, "group": group, "y": y,
                     "score": np.round(1 / (1 + np.exp(-logit)) * 10)})


def write_spec(folder: Path, *, models: list[dict[str, Any]],
               thresholds: dict[str, Any] | None = None, name: str = "synth") -> Path:
    """Write a spec YAML for the synthetic table; return its path."""
    doc = {
        "name": name, "title": "synthetic", "license": "CC0", "citation": "none",
        "sources": [{"url": "https://example.org/x.csv", "sha256": "0" * 64}],
        "label": {"column": "y", "positive": [1]},
        "sensitive": [{"column": "group"}], "id_column": "id",
        "models": models, "thresholds": thresholds or {"min_group_size": 5},
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def load(path: Path) -> DatasetSpec:
    return load_spec(path)
