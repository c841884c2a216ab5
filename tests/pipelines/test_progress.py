from __future__ import annotations

import logging

import pytest

from pipelines import progress


def test_step_logs_start_and_total(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fairledger")
    with progress.step("ingest demo", unit="rows", show=False) as advance:
        advance(3)
        advance(4)
    messages = [r.getMessage() for r in caplog.records if r.name == "fairledger"]
    assert messages[0] == "ingest demo: started"
    assert messages[1].startswith("ingest demo: 7 rows in ")


def test_enable_toggles() -> None:
    progress.enable(True)
    assert progress.enabled()
    progress.enable(False)
    assert not progress.enabled()
