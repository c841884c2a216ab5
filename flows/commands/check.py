"""``fairledger check SPEC [--json]``: ingest and run the quality gate, publish nothing."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run", "ingest_to_parquet", "reference_partitions", "print_table"]


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``check`` sub-command."""
    p = sub.add_parser(
        "check",
        parents=parents,
        help="ingest a spec's data and run its quality gate without publishing",
        description="Resolve and ingest the data of SPEC, run its Great Expectations "
        "suite and print the results; exit 0 when the gate passes, 1 when it fails.",
    )
    p.add_argument("spec", metavar="SPEC", help="dataset spec YAML file")
    p.add_argument("--json", action="store_true", help="print quality.json instead of a table")
    p.set_defaults(func=run)


def ingest_to_parquet(spec: Any, home: Path, folder: Path) -> dict[str, Path]:
    """Ingest every source of ``spec`` into ``folder/<role or all>.parquet``.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    home : pathlib.Path
        The ledger folder (download cache).
    folder : pathlib.Path
        Where to write the Parquet files.

    Returns
    -------
    dict of str to pathlib.Path
        Role (or ``"all"``) -> Parquet file.
    """
    import pyarrow.parquet as pq

    from pipelines.ingest import iter_batches
    from pipelines.sources import resolve_source

    paths: dict[str, Path] = {}
    for source in spec.sources:
        resolved = resolve_source(spec, source, home=home)
        name = source.role or "all"
        paths[name] = folder / f"{name}.parquet"
        writer = None
        try:
            for batch in iter_batches(spec, resolved):
                if writer is None:
                    writer = pq.ParquetWriter(paths[name], batch.schema)
                writer.write_batch(batch)
        finally:
            if writer is not None:
                writer.close()
    return paths


def reference_partitions(spec: Any, spec_path: Path) -> dict[str, dict[str, Any]]:
    """Return the KL partition objects of the spec's reference population.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset spec.
    spec_path : pathlib.Path
        The spec file (``reference.file`` is relative to its folder).

    Returns
    -------
    dict
        Feature -> GX partition object; empty unless ``reference.kl_expectation``.
    """
    if spec.reference is None or not spec.reference.kl_expectation:
        return {}
    from audits.references import reference_for
    from pipelines.quality import partition_from_reference

    ref = reference_for(spec, spec_path.parent)
    out: dict[str, dict[str, Any]] = {}
    for feature, fref in (ref.features.items() if ref else []):
        kept = {k: v for k, v in fref.mapping.items() if k not in fref.no_counterpart}
        part = partition_from_reference(fref.shares, kept)
        if part is not None:
            out[feature] = part
    return out


def print_table(report: Any) -> None:
    """Print the gate results as a Rich table (expectation, severity, result, unexpected)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"quality gate: {report.dataset} ({report.rows:,} rows)")
    for name in ("#", "expectation", "column", "severity", "result", "unexpected"):
        table.add_column(name, justify="right" if name in ("#", "unexpected") else "left")
    for r in report.results:
        args = r["args"]
        column = args.get("column") or ", ".join(
            str(args[k]) for k in ("column_A", "column_B") if k in args
        )
        result = "pass" if r["success"] else ("FAIL" if r["severity"] == "error" else "warn")
        count = r["unexpected_count"]
        shown = "" if count is None else f"{count:,}"
        if r["error"]:
            shown = r["error"]
        table.add_row(str(r["index"]), r["expectation"], str(column or ""), r["severity"],
                      result, shown)
    Console(width=160).print(table)
    s = report.summary()
    print(f"{'passed' if s['success'] else 'FAILED'}: {s['evaluated']} evaluated, "
          f"{s['failed']} failed, {s['warned']} warned")


def run(args: argparse.Namespace) -> int:
    """Ingest SPEC, run the gate and print the results; 0 pass, 1 fail."""
    from pipelines.quality import failure_summary, run_gate, validate_expectation_specs
    from pipelines.spec import load_spec

    spec_path = Path(args.spec)
    spec = load_spec(spec_path)
    validate_expectation_specs(spec, path=str(spec_path))
    partitions = reference_partitions(spec, spec_path)
    home = resolve_home(args.home, create=True)
    with tempfile.TemporaryDirectory(prefix="fairledger-check-") as tmp:
        paths = ingest_to_parquet(spec, home, Path(tmp))
        report = run_gate(spec, paths, reference_partitions=partitions, path=str(spec_path))
    if args.json:
        print_json(report.to_dict())
    else:
        print_table(report)
    if not report.success:
        print(f"error: {spec.name}: {failure_summary(report)}", file=sys.stderr)
        return 1
    return 0
