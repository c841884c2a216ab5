"""``fairledger verify``: check every file of every version against its manifest."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home
from pipelines.errors import NotFoundError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``verify`` sub-command."""
    p = subparsers.add_parser("verify", parents=parents,
                              help="check every stored file against its manifest")
    p.add_argument("--json", action="store_true",
                   help="print {ok, versions, files, problems} as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the ledger; 0 when clean, 1 when any file is missing or altered."""
    import pipelines.results  # noqa: F401  (registers the result checks)
    from pipelines.store import check_ledger

    home = resolve_home(args.home)
    if not home.is_dir():
        raise NotFoundError(f"no ledger at {home}", where="--home",
                            fix="pass --home (or set FAIRLEDGER_HOME to) an existing ledger")
    report = check_ledger(home)
    if args.json:
        print_json({"ok": not report.problems, "versions": report.versions,
                    "files": report.files, "problems": report.problems})
        return 1 if report.problems else 0
    for p in report.problems:
        print(f"{p['path']}: {p['problem']} ({p['detail']})")
    if report.problems:
        print(f"ledger verification failed: {len(report.problems)} problem(s) in "
              f"{report.versions} versions, {report.files} files")
        return 1
    print(f"ledger verified: {report.versions} versions, {report.files} files")
    return 0
