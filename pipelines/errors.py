"""The one exception root of fairledger and its typed subclasses.

Every error a user can cause is a :class:`FairledgerError`. Its ``str`` is
one line that says what is wrong, where, and how to fix it; the CLI prints
that line and exits with :attr:`FairledgerError.exit_code` (2 for bad input,
1 for a failed gate, threshold, verification or lock).
"""

from __future__ import annotations

__all__ = [
    "FairledgerError",
    "SpecError",
    "SourceError",
    "DataError",
    "ArgumentError",
    "ModelError",
    "LedgerError",
    "NotFoundError",
    "GateFailed",
    "LockTimeout",
    "VerificationFailed",
]


class FairledgerError(Exception):
    """Base of every error fairledger reports to a user.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence.
    where : str, optional
        Where it is wrong: a file, ``file:line``, a field or a column.
    fix : str, optional
        How to fix it.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        """Return the single line shown to the user (no newlines)."""
        parts = []
        if self.where:
            parts.append(f"{self.where}: ")
        parts.append(self.message.rstrip("."))
        if self.fix:
            parts.append(f"; fix: {self.fix.rstrip('.')}")
        return " ".join("".join(parts).split())


class SpecError(FairledgerError):
    """A dataset spec (or reference file) is missing, malformed or invalid."""


class SourceError(FairledgerError):
    """A source cannot be resolved, downloaded or verified (e.g. sha256 mismatch)."""


class DataError(FairledgerError):
    """A data file does not match what its spec says (columns, rows, types)."""


class ArgumentError(FairledgerError):
    """A command-line argument is invalid."""


class ModelError(FairledgerError):
    """A model file or model declaration cannot be used."""


class NotFoundError(FairledgerError):
    """A dataset, version, model or result named by the user does not exist."""


class LedgerError(FairledgerError):
    """The ledger cannot be read or written (e.g. ``--home`` cannot be created)."""


class GateFailed(FairledgerError):
    """The data-quality gate failed; the attempt was quarantined."""

    exit_code = 1


class LockTimeout(FairledgerError):
    """A dataset lock could not be taken in time."""

    exit_code = 1


class VerificationFailed(FairledgerError):
    """Stored files do not match their manifest (tampering or corruption)."""

    exit_code = 1
