"""Named fault points for crash tests.

The ledger calls :func:`fault_point` at every instant where a crash matters
(after each file write, around each fsync and rename, ...). When the
environment variable ``FAIRLEDGER_FAULT`` names that point, the process
kills itself with ``SIGKILL`` there, so that tests can prove that a crash at
any instant leaves the ledger consistent. In normal runs the check is one
dictionary look-up.
"""

from __future__ import annotations

import os
import signal

__all__ = ["fault_point", "FAULT_ENV"]

#: Environment variable naming the fault point at which to die.
FAULT_ENV = "FAIRLEDGER_FAULT"


def fault_point(name: str) -> None:
    """Kill the current process with SIGKILL if ``$FAIRLEDGER_FAULT == name``.

    Parameters
    ----------
    name : str
        The name of this instant, e.g. ``"publish.before_rename"``.
    """
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
