"""Helpers shared by the sub-commands: ledger home, JSON output."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pipelines.errors import LedgerError

__all__ = ["resolve_home", "print_json", "preflight_spec", "THREADS_HELP"]

#: Help of ``--threads`` (evaluate, run).
THREADS_HELP = ("torch threads for inference (default: one fewer than torch's default, "
                "at least 1; the other core reads and writes)")


def resolve_home(home: str | None, *, create: bool = False) -> Path:
    """Return the ledger folder from ``--home``, ``$FAIRLEDGER_HOME`` or ``./ledger``.

    Parameters
    ----------
    home : str or None
        The ``--home`` argument.
    create : bool
        Create the folder if it does not exist.

    Returns
    -------
    pathlib.Path
        The absolute ledger folder.

    Raises
    ------
    LedgerError
        When the folder cannot be created.
    """
    raw = home or os.environ.get("FAIRLEDGER_HOME") or "ledger"
    path = Path(raw).expanduser().resolve()
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create the ledger folder ({exc.strerror})",
                where=f"--home {raw}",
                fix="pass --home (or set FAIRLEDGER_HOME to) a writable folder",
            ) from None
    return path


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on standard output."""
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def preflight_spec(path: str | Path) -> Any:
    """Load a spec and check everything that can be checked before any flow starts.

    The spec itself, its expectations (names and arguments, no GX import) and
    its reference population file: a bad input answers in well under a
    second, before a Prefect server starts.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file.

    Returns
    -------
    DatasetSpec
        The validated spec.

    Raises
    ------
    SpecError
        One line naming the file, field and fix.
    """
    from audits.references import reference_for
    from pipelines.quality import validate_expectation_specs
    from pipelines.spec import load_spec

    spec = load_spec(path)
    validate_expectation_specs(spec, path=str(path))
    reference_for(spec, Path(path).resolve().parent)
    return spec
