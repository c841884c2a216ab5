"""The ``fairledger`` command: parse, call a flow or a pure function, print.

Each sub-command lives in its own module under :mod:`flows.commands` and
exposes ``add_parser(subparsers, parents)``; the parser it adds sets
``func`` to a callable taking the parsed namespace and returning an exit
code. Heavy libraries are imported inside those callables so that
``fairledger --help`` and every error path stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pipelines.errors import FairledgerError

__all__ = ["main", "build_parser", "COMMANDS"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "build",
    "check",
    "versions",
    "show",
    "verify",
    "audit",
    "audit_dataset",
    "diff",
    "evaluate",
    "run",
    "results",
    "leaderboard",
    "report",
    "export",
    "serve",
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}; fix: see '{self.prog} --help'\n")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=None,
        help="ledger folder (default: $FAIRLEDGER_HOME or ./ledger)",
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command.

    Returns
    -------
    argparse.ArgumentParser
        The top-level parser.
    """
    parser = _Parser(
        prog="fairledger",
        description=(
            "Benchmark datasets you can trust: versioned Parquet snapshots, "
            "quality gates, fairness audits with confidence intervals."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parents = [_common()]
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"flows.commands.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name != f"flows.commands.{name}":
                raise
            continue
        module.add_parser(sub, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fairledger`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 success, 1 failed gate/threshold/verification, 2 bad input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "fairledger")
    from pipelines import progress

    progress.enable(sys.stderr.isatty())
    if not args.debug:  # Prefect's own console logs would repeat errors as tracebacks
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    try:
        return int(args.func(args) or 0)
    except FairledgerError as exc:
        if args.debug:
            raise
        print(f"error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:  # also pyarrow's ArrowMemoryError, a MemoryError subclass
        if args.debug:
            raise
        detail = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(":")
        print(f"error: out of memory while running '{args.command}' ({detail}); fix: free "
              "memory, or lower read.block_size / use a machine with more memory",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
