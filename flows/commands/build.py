"""``fairledger build SPEC... [--json]``: build dataset versions from specs."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import preflight_spec, print_json, resolve_home
from pipelines.errors import GateFailed

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``build`` sub-command."""
    p = sub.add_parser(
        "build",
        parents=parents,
        help="build (or find unchanged) a dataset version per spec",
        description="Resolve, ingest, split, gate, audit and publish each spec's dataset.",
    )
    p.add_argument("specs", nargs="+", metavar="SPEC", help="dataset spec YAML files")
    p.add_argument("--json", action="store_true", help="print one JSON object per spec")
    p.add_argument("--data-docs", action="store_true", help="write GX Data Docs into the version")
    p.add_argument("--lock-timeout", type=float, default=600.0, help="seconds to wait for a lock")
    p.set_defaults(func=run)


def _line(out: dict[str, Any]) -> str:
    rows = ", ".join(f"{k} {v:,}" for k, v in sorted(out["rows"].items()))
    note = "  (reused: sources, spec and code unchanged)" if out.get("reused") else ""
    return f"{out['name']}  {out['version']}  {out['status']}  rows: {rows}{note}"


def run(args: argparse.Namespace) -> int:
    """Build every spec given; exit 1 when a quality gate fails."""
    for path in args.specs:  # fail fast on a bad spec, before any flow starts
        preflight_spec(path)
    home = resolve_home(args.home, create=True)
    from flows.build import build_spec

    outputs = []
    failures = []
    for path in args.specs:
        out = build_spec(path, home, data_docs=args.data_docs, lock_timeout=args.lock_timeout)
        outputs.append(out)
        if out["status"] == "quarantined":
            failures.append(out["error"])
        elif not args.json:
            print(_line(out))
    if args.json:
        keys = ("name", "version", "status", "rows")
        print_json([{k: o.get(k) for k in keys} for o in outputs])
    if failures:
        raise GateFailed(" | ".join(failures))
    return 0
