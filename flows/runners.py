"""Task runner selection: threads on this machine, or Dask for scale-out.

``fairledger run --runner dask [--dask-address ADDR]`` builds its task
runner here. Without an address, :class:`prefect_dask.DaskTaskRunner`
starts a temporary ``distributed.LocalCluster`` of worker *processes* for
the duration of the flow run and tears it down afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pipelines.errors import ArgumentError

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

__all__ = ["RunnerKind", "RUNNER_KINDS", "LOCAL_DASK_WORKERS", "make_task_runner"]

RunnerKind = Literal["local", "dask"]
#: The accepted values of ``--runner``.
RUNNER_KINDS: tuple[str, ...] = ("local", "dask")
#: Worker processes of the local Dask cluster started when no address is given.
LOCAL_DASK_WORKERS = 2


def make_task_runner(
    kind: RunnerKind = "local",
    address: str | None = None,
    *,
    max_workers: int | None = None,
) -> TaskRunner[Any]:
    """Return the Prefect task runner for ``--runner`` and ``--dask-address``.

    Parameters
    ----------
    kind : {"local", "dask"}
        ``local``: a :class:`prefect.task_runners.ThreadPoolTaskRunner`;
        ``dask``: a :class:`prefect_dask.DaskTaskRunner`.
    address : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Without one,
        the Dask runner starts a local cluster of :data:`LOCAL_DASK_WORKERS`
        worker processes (one thread each, no dashboard).
    max_workers : int, optional
        Threads of the local runner (default: Prefect's default).

    Returns
    -------
    prefect.task_runners.TaskRunner
        A task runner to pass to ``flow.with_options(task_runner=...)``.

    Raises
    ------
    ArgumentError
        An unknown kind, or an address given with the local runner.
    """
    if kind not in RUNNER_KINDS:
        raise ArgumentError(
            f"unknown task runner '{kind}'",
            where="--runner",
            fix=f"use one of: {', '.join(RUNNER_KINDS)}",
        )
    if kind == "local":
        if address:
            raise ArgumentError(
                "a Dask address needs the Dask runner",
                where="--dask-address",
                fix="add '--runner dask' or drop --dask-address",
            )
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=max_workers)
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=_check_address(address))
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": LOCAL_DASK_WORKERS,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


def _check_address(address: str) -> str:
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls", "ucx", "inproc", "ws", "wss") or not colon or not host \
            or not port.isdigit():
        raise ArgumentError(
            f"'{address}' is not a Dask scheduler address",
            where="--dask-address",
            fix="pass the scheduler address, e.g. tcp://127.0.0.1:8786",
        )
    return f"{scheme}://{rest}"
