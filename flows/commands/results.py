"""``fairledger results NAME [--json]``: list the published result files of a dataset."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``results`` sub-command."""
    p = subparsers.add_parser("results", parents=parents,
                              help="list the published result.json files of a dataset")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per result (version, model, verdict, path), newest first."""
    from pipelines.leaderboard import list_results

    rows = list_results(resolve_home(args.home), args.name)
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        print(f"{r['version'][:12]}  {r['model']:<20} {str(r['verdict']):<5} {r['path']}")
    return 0
