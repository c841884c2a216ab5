"""``fairledger export NAME [--version V] --out BUNDLE.zip``: the policy review bundle."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``export`` sub-command."""
    p = subparsers.add_parser(
        "export", parents=parents,
        help="write the policy bundle (PDF + HTML summary, CSVs, Croissant, datasheet, cards)")
    p.add_argument("name", help="dataset name")
    p.add_argument("--version", default=None, help="version id, prefix or tag (default: latest)")
    p.add_argument("--spec", default=None,
                   help="the dataset's spec (default: the copy stored in the version)")
    p.add_argument("--out", required=True, help="zip file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the bundle of one dataset version; print its path and file count."""
    from audits.export import build_bundle
    from flows.commands._common import resolve_home
    from flows.commands.report import check_out, load_inputs

    out = check_out(args.out, ".zip")
    inputs = load_inputs(resolve_home(args.home), args.name, args.version, args.spec)
    from pipelines.faults import fault_point

    manifest = build_bundle(**inputs, out=out, on_step=fault_point)
    print(f"{out} ({len(manifest['files']) + 1} files, version {manifest['dataset']['version']})")
    return 0
