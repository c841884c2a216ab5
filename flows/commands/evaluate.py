"""``fairledger evaluate SPEC [--model ID]``: evaluate a spec's models and publish results."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import THREADS_HELP, print_json, resolve_home
from pipelines.errors import ArgumentError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``evaluate`` sub-command."""
    p = subparsers.add_parser(
        "evaluate", parents=parents,
        help="evaluate the spec's models on a dataset version and publish their results",
        description="Run every model of the spec (or --model) on the dataset version, audit "
                    "the predictions and write result.json, predictions.parquet and the "
                    "leaderboard under <home>/results/<name>/<version>/.",
    )
    p.add_argument("spec", metavar="SPEC", help="dataset spec YAML file")
    p.add_argument("--model", default=None, metavar="ID", help="evaluate only this model")
    p.add_argument("--version", default=None, help="dataset version (default: latest)")
    p.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-reuse", action="store_true",
                   help="recompute results even when an identical one is stored")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate spec, model and version first (fast), then run the evaluate_models flow."""
    from pipelines.building import spec_dir
    from pipelines.spec import load_spec

    if args.threads is not None and args.threads < 1:
        raise ArgumentError(f"--threads must be >= 1, got {args.threads}", where="--threads",
                            fix="pass a positive thread count")
    spec = load_spec(args.spec)
    home = resolve_home(args.home)
    from flows.evaluate import check_models, evaluate_models, select_models

    models = select_models(spec, args.model)
    vid = check_models(spec, models, home=home, version=args.version,
                       spec_dir=spec_dir(args.spec))
    out = evaluate_models(str(args.spec), str(home), version=vid, model=args.model,
                          threads=args.threads, reuse=not args.no_reuse, n_boot=args.n_boot,
                          seed=args.seed)
    if args.json:
        print_json(out)
        return 0
    for item in out["results"]:
        note = " (reused)" if item["reused"] else ""
        print(f"{item['model']}: {item['verdict']}{note}  {item['result']}")
    print(f"leaderboard: {out['leaderboard']}")
    return 0
