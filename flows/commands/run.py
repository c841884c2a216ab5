"""``fairledger run SPEC [--json]``: the main job (build, evaluate, publish, report)."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import THREADS_HELP, preflight_spec, print_json, resolve_home
from pipelines.errors import GateFailed

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``run`` sub-command."""
    p = sub.add_parser(
        "run",
        parents=parents,
        help="build, evaluate every model, publish results, report and export",
        description=(
            "The main job for one spec: build the dataset version (gate + audit), evaluate "
            "every model of the spec, publish result.json files and the leaderboard, write "
            "the HTML report and the policy bundle."
        ),
    )
    p.add_argument("spec", metavar="SPEC", help="dataset spec YAML file")
    p.add_argument("--json", action="store_true", help="print the paths of every result.json")
    p.add_argument("--runner", default="local", help="task runner: local (default) or dask")
    p.add_argument("--dask-address", default=None, help="address of a Dask scheduler")
    p.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-reuse", action="store_true", help="recompute unchanged evaluations")
    p.set_defaults(func=run)


def _print_summary(out: dict[str, Any], home: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    built = out["build"]
    rows = ", ".join(f"{k} {v:,}" for k, v in sorted(built["rows"].items()))
    console = Console(width=160)
    note = "  (reused: sources, spec and code unchanged)" if built.get("reused") else ""
    console.print(
        f"dataset  {built['name']}  {built['version']}  {built['status']}  rows: {rows}{note}"
    )
    for item in out["evaluation"]["results"]:
        what = "reused (unchanged dataset, model and code)" if item["reused"] else "evaluated"
        console.print(f"model    {item['model']}  {what}  verdict: {item['verdict']}")
    from pipelines.leaderboard import read_leaderboard

    table = Table(title=f"leaderboard {built['name']}@{built['version'][:12]}")
    _, board = read_leaderboard(home, built["name"], built["version"])
    columns = [c for c in ("model", "accuracy", "worst_group_accuracy",
                           "demographic_parity_ratio", "equalized_odds_difference", "verdict")
               if board and c in board[0]]
    for col in columns:
        table.add_column(col)
    for row in board:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)
    console.print(f"results  {out['evaluation']['leaderboard']}")
    again = "  (reused: inputs unchanged)" if out.get("outputs_reused") else ""
    console.print(f"report   {out['report']}{again}")
    console.print(f"bundle   {out['bundle']}{again}")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    """Run the whole benchmark job for one spec; exit 1 when the gate fails."""
    preflight_spec(args.spec)  # fail fast, before any flow or server starts
    from flows.runners import make_task_runner

    runner: Any = make_task_runner(args.runner, args.dask_address)
    home = resolve_home(args.home, create=True)
    from flows.publish import publish_benchmark

    job = publish_benchmark.with_options(task_runner=runner)
    out = job(args.spec, str(home), threads=args.threads, n_boot=args.n_boot, seed=args.seed,
              reuse=not args.no_reuse)
    if out["status"] == "quarantined":
        raise GateFailed(out["build"]["error"])
    if args.json:
        print_json({
            "name": out["build"]["name"], "version": out["build"]["version"],
            "status": out["build"]["status"],
            "results": [r["result"] for r in out["evaluation"]["results"]],
            "reused": {r["model"]: r["reused"] for r in out["evaluation"]["results"]},
            "leaderboard": out["evaluation"]["leaderboard"],
            "report": out["report"], "bundle": out["bundle"],
            "outputs_reused": out.get("outputs_reused", False),
        })
    else:
        _print_summary(out, home)
    return 0
