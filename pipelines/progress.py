"""Progress of long steps: a Rich bar on standard error and a log line per step.

Pipelines call :func:`step` around long loops (download, ingest, inference,
bootstrap); it yields an ``advance(n)`` callable. Bars show only when the
CLI enabled them (standard error is a terminal); the start and end of every
step are always logged to the ``fairledger`` logger, which the CLI hands to
Prefect (``PREFECT_LOGGING_EXTRA_LOGGERS``) so flow-run logs carry the same
steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["enable", "enabled", "step"]

_LOG = logging.getLogger("fairledger")
_LOG.setLevel(logging.INFO)  # step lines are INFO; the root logger's default would drop them
_STATE = {"enabled": False}


def enable(flag: bool = True) -> None:
    """Turn progress bars on or off for this process."""
    _STATE["enabled"] = bool(flag)


def enabled() -> bool:
    """Return whether progress bars are shown."""
    return _STATE["enabled"]


def _bar(label: str, total: int | None, unit: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns += [TextColumn("{task.completed:,} " + unit)]
    return Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True)


@contextmanager
def step(
    label: str, total: int | None = None, *, unit: str = "rows", show: bool | None = None
) -> Iterator[Callable[[int], None]]:
    """Report the progress of one long step.

    Parameters
    ----------
    label : str
        What the step does, e.g. ``"ingest compas"``.
    total : int, optional
        Expected amount of work (bytes, rows, replicates), when known.
    unit : str
        Unit of the work, shown after the count.
    show : bool, optional
        Force the bar on (True) or off (False); default: as :func:`enable` set.

    Yields
    ------
    callable
        ``advance(n)``: add ``n`` units of work done.
    """
    done = [0]
    start = time.perf_counter()
    _LOG.info("%s: started", label)
    bar = _bar(label, total, unit) if (_STATE["enabled"] if show is None else show) else None
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task(label, total=total)

    def advance(n: int) -> None:
        done[0] += n
        if bar is not None:
            bar.advance(task, n)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.stop()
        _LOG.info("%s: %s %s in %.2f s", label, f"{done[0]:,}", unit, time.perf_counter() - start)
