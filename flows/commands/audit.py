"""``fairledger audit FILE``: audit a CSV or Parquet predictions file for fairness."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flows.commands._common import print_json
from pipelines.errors import ArgumentError

__all__ = ["add_parser", "run"]

_SHOWN_RATES = ("selection_rate", "tpr", "fpr", "ppv", "accuracy")


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` sub-command."""
    p = subparsers.add_parser(
        "audit",
        parents=parents,
        help="audit a CSV or Parquet predictions file (rates, disparities, intervals)",
        description="Audit any CSV or Parquet predictions file for group fairness.",
    )
    p.add_argument("file", metavar="FILE", help="predictions file (.csv, .parquet, .pq)")
    p.add_argument("--label", required=True, metavar="COL", help="true label column")
    p.add_argument("--prediction", required=True, metavar="COL", help="prediction column")
    p.add_argument("--sensitive", required=True, metavar="A,B", help="sensitive columns")
    p.add_argument("--intersect", action="append", default=[], metavar="A,B",
                   help="audit the intersection of these columns (repeatable)")
    p.add_argument("--weight", default=None, metavar="COL", help="sample-weight column")
    p.add_argument("--pos-label", default=None, metavar="VALUE",
                   help="positive value of label and prediction (default 1/true)")
    p.add_argument("--task", default="binary", choices=("binary", "multiclass", "regression"))
    p.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="bootstrap seed")
    p.add_argument("--min-group-size", type=int, default=30, metavar="N",
                   help="flag groups smaller than this (default 30)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _split(text: str, option: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise ArgumentError(f"{option} names no column", where=option,
                            fix=f"pass {option} COL[,COL...]")
    return names


def run(args: argparse.Namespace) -> int:
    """Run the audit and print a table or JSON.

    Returns
    -------
    int
        0 on success (bad input raises and exits 2).
    """
    from audits.engine import audit_predictions

    if args.n_boot < 0:
        raise ArgumentError(f"--n-boot must be >= 0, got {args.n_boot}", where="--n-boot",
                            fix="pass e.g. --n-boot 1000")
    result = audit_predictions(
        Path(args.file), label=args.label, prediction=args.prediction,
        sensitive=_split(args.sensitive, "--sensitive"),
        intersections=[_split(i, "--intersect") for i in args.intersect],
        n_boot=args.n_boot, seed=args.seed, min_group_size=args.min_group_size,
        weight=args.weight, pos_label=args.pos_label, task=args.task,
    )
    if args.json:
        print_json(result.to_dict())
    else:
        _print_tables(result.to_dict(), args.file)
    return 0


def _fmt(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "" if entry is None else str(entry)
    if entry.get("value") is None:
        return "undefined"
    text = f"{entry['value']:.3f}"
    if entry.get("ci"):
        text += f" [{entry['ci'][0]:.3f}, {entry['ci'][1]:.3f}]"
    return text


def _value(entry: dict[str, Any]) -> str:
    return "undefined" if entry.get("value") is None else f"{entry['value']:.3f}"


def _print_tables(result: dict[str, Any], title: str) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    groups = result["groups"]
    names = [r for r in _SHOWN_RATES if groups and r in groups[0]] or [
        k for k in ("mean_prediction", "mae", "rmse") if groups and k in groups[0]]
    table = Table(title=f"groups: {title} (95% Wilson intervals in --json)")
    for col in ("class", "feature", "group", "n", *names, "small"):
        if col != "class" or (groups and "class" in groups[0]):
            table.add_column(col)
    for g in groups:
        cells = [str(g["class"])] if "class" in g else []
        cells += [g["feature"], g["group"], str(g["n"]), *(_value(g[r]) for r in names)]
        table.add_row(*cells, "yes" if g["small"] else "")
    console.print(table)
    disp = Table(title="disparities (95% bootstrap CI)")
    for col in ("feature", "metric", "method", "value", "low confidence"):
        disp.add_column(col)
    for d in result["disparities"]:
        if d.get("agg", "worst_case") != "worst_case":
            continue
        label = d["feature"] if "class" not in d else f"{d['feature']} (class {d['class']})"
        disp.add_row(label, d["metric"], d["method"], _fmt(d), "yes" if d["low_confidence"] else "")
    console.print(disp)
    boot = result["bootstrap"]
    console.print(f"bootstrap: n_boot={boot['n_boot']} seed={boot['seed']} ({boot['method']})")
