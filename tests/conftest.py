"""Shared fixtures: the real-data mirror and one Prefect test harness per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No per-example deadlines (a loaded 2-core CI machine is slow); in CI the examples are
# derived from the test itself, so a red run can be reproduced exactly.
settings.register_profile(
    "fairledger", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("ci", parent=settings.get_profile("fairledger"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "fairledger")

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "datasets_spec"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "fairledger")  # as the CLI sets it
os.environ.pop("FAIRLEDGER_HOME", None)


def _shared_data() -> Path:
    env = os.environ.get("FAIRLEDGER_MIRROR")
    if env:
        return Path(env.split(os.pathsep)[0]).resolve()
    return (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets (../shared/data); fail under CI, skip locally if missing."""
    path = _shared_data()
    if not (path / "compas" / "compas-scores-two-years.csv").is_file():
        message = f"real data mirror not found at {path} (set FAIRLEDGER_MIRROR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _mirror_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point FAIRLEDGER_MIRROR at the shared data for every test (tests may override)."""
    monkeypatch.setenv("FAIRLEDGER_MIRROR", str(_shared_data()))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[str]:
    """One temporary Prefect API for the whole session; yields its URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        url = PREFECT_API_URL.value()
        os.environ["PREFECT_API_URL"] = str(url)
        try:
            yield str(url)
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture
def spec_path() -> Path:
    """Folder of the real dataset specs."""
    return SPECS
