"""Scheduled builds on a real ``prefect server``: served, run, and rebuilt on new bytes.

Starts ``prefect server start`` on 127.0.0.1 (own PREFECT_HOME and SQLite file
under tmp_path), serves one spec with a short interval schedule through
``fairledger serve``, watches the scheduled flow runs with the Prefect client,
then swaps in new source bytes and expects a new version whose lineage names
the previous one. Every process started here is stopped, by id, in ``finally``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.local_server import LocalServer, local_server, stop_process
from pipelines.store import list_versions, read_manifest

NAME = "toy"
INTERVAL = 6  # seconds between scheduled runs
WAIT = 300.0  # bound of every wait, in seconds
SERVER_ENV = {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}


def _csv(seed: int, rows: int) -> bytes:
    lines = ["id,group,y,score"]
    for i in range(rows):
        lines.append(f"{i},{'ab'[(i * seed) % 2]},{(i + seed) % 2},{((i * 37 + seed) % 100) / 100}")
    return ("\n".join(lines) + "\n").encode()


def _write_spec(spec: Path, mirror: Path, file_name: str, data: bytes) -> None:
    """Put the source in the mirror, then swap in the spec pinning its sha256 (atomically)."""
    (mirror / NAME).mkdir(parents=True, exist_ok=True)
    (mirror / NAME / file_name).write_bytes(data)
    text = f"""name: {NAME}
title: Toy scheduled dataset
license: CC0-1.0
citation: fairledger test suite
sources:
  - url: https://example.invalid/{file_name}
    sha256: {hashlib.sha256(data).hexdigest()}
columns: {{id: int64, group: string, y: int64, score: float64}}
label: {{column: y, positive: [1]}}
sensitive: [{{column: group}}]
split: {{kind: all}}
schedule: {{cron: "0 3 * * *", timezone: Europe/Paris}}
"""
    tmp = spec.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, spec)


def _wait_for(check: Callable[[], Any], what: str, context: Callable[[], str]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    pytest.fail(f"waited {WAIT:g} s for {what}; {context()}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _Runs:
    """Reads the flow runs of the served deployment from the test's server."""

    def __init__(self, server: LocalServer) -> None:
        self.url = server.url

    def states(self) -> list[str]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.url}):
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=[NAME])))
        return [r.state.type.value for r in runs if r.state is not None]

    def completed(self, at_least: int) -> bool:
        states = self.states()
        broken = [s for s in states if s in ("FAILED", "CRASHED")]
        if broken:
            pytest.fail(f"a scheduled run ended {broken[0]}: states {states}")
        return states.count("COMPLETED") >= at_least


def _serve(tmp_path: Path, spec: Path, server: LocalServer) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_API_URL": server.url,
        "PREFECT_HOME": str(tmp_path / "serve_home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "FAIRLEDGER_MIRROR": str(tmp_path / "mirror"),
    })
    command = [sys.executable, "-m", "flows.cli", "serve", str(spec), "--interval",
               str(INTERVAL), "--limit", "1", "--home", str(tmp_path / "ledger")]
    with open(tmp_path / "serve.log", "wb") as log:
        return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _versions(home: Path) -> list[dict[str, Any]]:
    return list_versions(home, NAME) if (home / "datasets" / NAME).is_dir() else []


def test_scheduled_build_runs_and_rebuilds_on_new_source(tmp_path: Path) -> None:
    spec, mirror, home = tmp_path / "toy.yaml", tmp_path / "mirror", tmp_path / "ledger"
    _write_spec(spec, mirror, "toy-v1.csv", _csv(1, 120))
    serve: subprocess.Popen[bytes] | None = None
    with local_server(tmp_path / "server", env=SERVER_ENV) as server:
        try:
            serve = _serve(tmp_path, spec, server)
            runs = _Runs(server)

            def context() -> str:
                exited = serve.poll() if serve else None
                return (f"serve exit code {exited}; run states {runs.states()}; serve log:\n"
                        f"{_tail(tmp_path / 'serve.log')}")

            # a scheduled run is created and completes: version 1 is published
            _wait_for(lambda: runs.completed(1), "a completed scheduled run", context)
            [first] = _versions(home)
            assert first["previous"] is None and first["rows"] == {"all": 120}
            # another run with nothing new publishes nothing
            _wait_for(lambda: runs.completed(2), "a second completed run", context)
            assert [v["version"] for v in _versions(home)] == [first["version"]]
            # new source bytes: the next scheduled run publishes version 2, child of version 1
            _write_spec(spec, mirror, "toy-v2.csv", _csv(2, 150))
            versions = _wait_for(lambda: len(_versions(home)) == 2 and _versions(home),
                                 "a new version after the source changed", context)
            second = next(v for v in versions if v["version"] != first["version"])
            assert second["rows"] == {"all": 150}
            assert read_manifest(home, NAME, second["version"])["lineage"]["previous"] == (
                first["version"])
            assert second["latest"] is True
        finally:
            if serve is not None:
                stop_process(serve)
    assert serve is not None and serve.poll() is not None
    assert server.process.poll() is not None


def test_serve_without_api_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    spec = tmp_path / "toy.yaml"
    _write_spec(spec, tmp_path / "mirror", "toy-v1.csv", _csv(1, 10))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve", str(spec), "--home", str(tmp_path / "ledger")]) == 2
    assert capsys.readouterr().err == (
        "error: PREFECT_API_URL: not set, so there is no Prefect server to serve on; "
        "fix: start one with 'prefect server start' then "
        "'export PREFECT_API_URL=http://127.0.0.1:4200/api'\n"
    )
