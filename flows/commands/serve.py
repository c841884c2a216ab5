"""``fairledger serve [SPEC...]``: serve scheduled dataset builds on a Prefect server.

Each spec's ``schedule`` becomes a deployment of the ``build_dataset`` flow
(see :mod:`flows.schedule`); the command registers them with the Prefect API
named by ``PREFECT_API_URL`` and runs their scheduled flow runs until it is
stopped (Ctrl-C or SIGTERM). Specs and arguments are checked before anything
starts, and a missing or unreachable API is one line saying how to start one.
"""

from __future__ import annotations

import argparse
import os
import urllib.error
import urllib.request
from typing import Any

from flows.commands._common import resolve_home
from pipelines.errors import ArgumentError

__all__ = ["add_parser", "run", "api_url", "START_SERVER_FIX"]

#: How to get a Prefect API, quoted by every "no API" error.
START_SERVER_FIX = (
    "start one with 'prefect server start' then "
    "'export PREFECT_API_URL=http://127.0.0.1:4200/api'"
)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` sub-command."""
    p = subparsers.add_parser(
        "serve",
        parents=parents,
        help="serve scheduled dataset builds against the Prefect API in PREFECT_API_URL",
        description=(
            "Serve the scheduled builds of the given specs (default: every spec in "
            "datasets_spec/ with a schedule) against the Prefect server in PREFECT_API_URL. "
            "Runs until interrupted."
        ),
    )
    p.add_argument("specs", nargs="*", metavar="SPEC", help="spec files (default: all scheduled)")
    p.add_argument("--spec-dir", default="datasets_spec",
                   help="folder searched when no SPEC is given (default: datasets_spec)")
    p.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                   help="run every SECONDS instead of each spec's cron (tests, demos)")
    p.add_argument("--limit", type=int, default=None,
                   help="maximum concurrent flow runs (default: no limit)")
    p.set_defaults(func=run)


def api_url(timeout: float = 5.0) -> str:
    """Return ``PREFECT_API_URL`` once the API there answers its health check.

    Parameters
    ----------
    timeout : float
        Seconds to wait for ``<url>/health``.

    Returns
    -------
    str
        The API URL.

    Raises
    ------
    ArgumentError
        When the variable is not set, or nothing healthy answers at the URL.
    """
    url = _configured_url()
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        healthy = False
    if not healthy:
        raise ArgumentError(f"no Prefect API answers at {url}", where="PREFECT_API_URL",
                            fix=START_SERVER_FIX)
    return url


def _configured_url() -> str:
    url = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    if not url:
        raise ArgumentError("not set, so there is no Prefect server to serve "
                            "on", where="PREFECT_API_URL", fix=START_SERVER_FIX)
    return url


def run(args: argparse.Namespace) -> int:
    """Serve the deployments until interrupted; return the exit code."""
    from flows.schedule import find_scheduled_specs, scheduled_specs

    _configured_url()
    if args.limit is not None and args.limit < 1:
        raise ArgumentError(f"--limit must be at least 1, got {args.limit}", where="--limit",
                            fix="pass a positive number of concurrent runs or omit --limit")
    if args.specs:
        items = scheduled_specs(args.specs, interval=args.interval)
    else:
        items = find_scheduled_specs(args.spec_dir, interval=args.interval)
    home = resolve_home(args.home, create=True)
    url = api_url()
    for item in items:
        print(f"serving {item.spec.name}: rebuild {item.describe} into {home}", flush=True)
    print(f"Prefect API: {url} (stop with Ctrl-C)", flush=True)
    _serve(items, home, args.limit)
    return 0


def _serve(items: list[Any], home: Any, limit: int | None) -> None:
    from prefect import serve

    from flows.schedule import deployments

    serve(*deployments(items, home), limit=limit, print_starting_message=False)
