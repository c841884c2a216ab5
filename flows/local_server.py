"""Start and stop a real ``prefect server`` on 127.0.0.1 (tests, benchmarks, CI).

A :class:`LocalServer` runs ``prefect server start`` in its own session
(process group) with its own ``PREFECT_HOME`` and SQLite database under a
given folder, analytics and UI off, on a free port. :func:`local_server`
waits for ``/api/health`` for a bounded time and always stops the process
group it started, by its id.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import LedgerError

__all__ = ["LocalServer", "free_port", "start_local_server", "stop_process", "local_server"]


@dataclass
class LocalServer:
    """A running ``prefect server start`` process.

    Attributes
    ----------
    url : str
        The API URL (``http://127.0.0.1:<port>/api``), for ``PREFECT_API_URL``.
    process : subprocess.Popen
        The server process (leader of its own process group).
    log : pathlib.Path
        File receiving the server's standard output and error.
    """

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        """Return the last ``lines`` lines of the server log."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def server_env(folder: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a server keeping all its state under ``folder``."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({
        "PREFECT_HOME": str(folder / "prefect_home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
    })
    env.update(extra or {})
    return env


def start_local_server(
    folder: Path,
    *,
    port: int | None = None,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> LocalServer:
    """Start ``prefect server start`` on 127.0.0.1 and wait until it is healthy.

    Parameters
    ----------
    folder : pathlib.Path
        Folder for the server's home, database and log (created).
    port : int, optional
        The port (default: a free one).
    timeout : float
        Seconds to wait for ``/api/health`` before giving up.
    env : mapping, optional
        Extra settings for the server (e.g. the scheduler loop seconds).

    Returns
    -------
    LocalServer
        The healthy server; stop it with :func:`stop_process`.

    Raises
    ------
    LedgerError
        When the server exits or is not healthy in time (the message quotes its log).
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = folder / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start",
               "--host", "127.0.0.1", "--port", str(port), "--analytics-off"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=server_env(folder, env),
                                   start_new_session=True)
    server = LocalServer(f"http://127.0.0.1:{port}/api", process, log)
    deadline = time.monotonic() + timeout
    while not _healthy(server.url):
        if process.poll() is not None or time.monotonic() > deadline:
            state = "exited" if process.poll() is not None else f"not healthy after {timeout:g} s"
            stop_process(process)
            raise LedgerError(f"prefect server {state}; its log ends: {server.tail(8)!r}",
                              where=str(log), fix="read the server log")
        time.sleep(0.25)
    return server


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop a process started with ``start_new_session=True`` and its group, by id.

    Sends SIGTERM to the process group led by ``process`` (whose id is the
    process id), waits up to ``timeout`` seconds, then sends SIGKILL.

    Parameters
    ----------
    process : subprocess.Popen
        A process this program started in its own session.
    timeout : float
        Seconds to wait after SIGTERM.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=timeout)
            _reap_group(process.pid)
            return
        except subprocess.TimeoutExpired:
            continue


def _reap_group(pgid: int) -> None:
    """Kill what is left of a stopped process group (e.g. orphaned children)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def local_server(
    folder: Path, *, timeout: float = 120.0, env: Mapping[str, str] | None = None
) -> Iterator[LocalServer]:
    """Run a :class:`LocalServer` for the duration of a ``with`` block.

    Parameters
    ----------
    folder : pathlib.Path
        Folder for the server's state.
    timeout : float
        Seconds to wait for the server to become healthy.
    env : mapping, optional
        Extra server settings.

    Yields
    ------
    LocalServer
        The healthy server; stopped (with its process group) on exit.
    """
    server = start_local_server(folder, timeout=timeout, env=env)
    try:
        yield server
    finally:
        stop_process(server.process)
