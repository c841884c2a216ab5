"""``fairledger versions NAME``: list the versions of a dataset."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``versions`` sub-command."""
    p = subparsers.add_parser("versions", parents=parents,
                              help="list the versions of a dataset, oldest first")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def _rows(rows: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in rows.items()) or "-"


def run(args: argparse.Namespace) -> int:
    """List versions: a table, or JSON with ``--json``; 0 on success."""
    from pipelines.store import list_versions

    home = resolve_home(args.home)
    versions = list_versions(home, args.name)
    if args.json:
        print_json(versions)
        return 0
    print(f"{'VERSION':<12}  {'CREATED (UTC)':<26}  ROWS")
    for v in versions:
        mark = "  (latest)" if v["latest"] else ""
        print(f"{v['version'][:12]:<12}  {str(v['created_at'])[:26]:<26}  {_rows(v['rows'])}{mark}")
    return 0
