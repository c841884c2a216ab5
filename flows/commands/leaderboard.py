"""``fairledger leaderboard NAME [--version V] [--json]``: one row per evaluated model."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run", "format_table"]

_COLUMNS = (("model", "model", "{}"), ("accuracy", "accuracy", "{:.3f}"),
            ("accuracy 95% CI", None, ""), ("worst group acc", "worst_group_accuracy", "{:.3f}"),
            ("DP ratio", "demographic_parity_ratio", "{:.3f}"),
            ("EO diff", "equalized_odds_difference", "{:.3f}"), ("verdict", "verdict", "{}"))


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``leaderboard`` sub-command."""
    p = subparsers.add_parser("leaderboard", parents=parents,
                              help="show the models evaluated on a dataset version")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("--version", default=None, help="dataset version (default: latest)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=run)


def _cell(row: dict[str, Any], key: str | None, fmt: str) -> str:
    if key is None:
        low, high = row.get("accuracy_ci_low"), row.get("accuracy_ci_high")
        return "-" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"
    value = row.get(key)
    return "-" if value is None else fmt.format(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Return the leaderboard as an aligned plain-text table."""
    table = [[title for title, _, _ in _COLUMNS]]
    table += [[_cell(r, key, fmt) for _, key, fmt in _COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in table)


def run(args: argparse.Namespace) -> int:
    """Print the leaderboard of a dataset version."""
    from pipelines.leaderboard import read_leaderboard

    vid, rows = read_leaderboard(resolve_home(args.home), args.name, args.version)
    if args.json:
        print_json({"name": args.name, "version": vid, "rows": rows})
        return 0
    print(f"{args.name}@{vid[:12]}")
    print(format_table(rows))
    return 0
