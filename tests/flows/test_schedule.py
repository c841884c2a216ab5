"""Specs with a schedule become deployments; bad serve input is one line (no server needed)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from flows.schedule import find_scheduled_specs, schedule_of, scheduled_specs, to_deployment
from pipelines.errors import ArgumentError, SpecError
from pipelines.spec import Schedule

SPEC = """name: {name}
title: T
license: CC0-1.0
citation: none
sources:
  - url: https://example.invalid/t.csv
    sha256: {sha}
label: {{column: y, positive: [1]}}
sensitive: [{{column: g}}]
"""


def _spec(folder: Path, name: str, schedule: str | None = None) -> Path:
    path = folder / f"{name}.yaml"
    text = SPEC.format(name=name, sha="a" * 64)
    if schedule:
        text += f"schedule: {schedule}\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_cron_schedule_keeps_the_time_zone() -> None:
    made = schedule_of(Schedule(cron="0 3 * * 1", timezone="Europe/Paris"))
    assert (made.cron, made.timezone) == ("0 3 * * 1", "Europe/Paris")


def test_interval_overrides_the_cron() -> None:
    made = schedule_of(Schedule(cron="0 3 * * 1"), interval=7.5)
    assert made.interval == datetime.timedelta(seconds=7.5) and made.cron is None


def test_deployment_of_a_spec(tmp_path: Path) -> None:
    path = _spec(tmp_path, "weekly", '{cron: "0 3 * * 1", timezone: America/New_York}')
    [item] = scheduled_specs([path])
    deployment = to_deployment(item, tmp_path / "ledger")
    assert deployment.name == "weekly"
    assert deployment.parameters == {"spec_path": str(path.resolve()),
                                     "home": str((tmp_path / "ledger").resolve())}
    [schedule] = deployment.schedules or []
    made: Any = schedule.schedule
    assert (made.cron, made.timezone) == ("0 3 * * 1",
                                                                    "America/New_York")
    assert deployment.entrypoint == "flows.build.build_dataset"


def test_default_folder_serves_only_scheduled_specs(tmp_path: Path) -> None:
    _spec(tmp_path, "b_daily", '{cron: "0 3 * * *"}')
    _spec(tmp_path, "a_never")
    _spec(tmp_path, "c_hourly", '{cron: "0 * * * *"}')
    assert [i.spec.name for i in find_scheduled_specs(tmp_path)] == ["b_daily", "c_hourly"]


def test_spec_without_schedule_needs_an_interval(tmp_path: Path) -> None:
    path = _spec(tmp_path, "never")
    with pytest.raises(SpecError) as info:
        scheduled_specs([path])
    assert info.value.line() == (
        f"{path}: schedule: the spec has no schedule to serve; fix: add "
        "'schedule: {cron: \"0 3 * * *\", timezone: UTC}' or pass --interval SECONDS"
    )
    assert scheduled_specs([path], interval=60)[0].describe == "every 60 s"


@pytest.mark.parametrize(
    ("build", "error", "line"),
    [
        (lambda d: scheduled_specs([_spec(d, "x", '{cron: "0 3 * * *"}')], interval=0),
         ArgumentError,
         "--interval: interval must be a positive number of seconds, got 0; "
         "fix: pass e.g. --interval 3600"),
        (lambda d: find_scheduled_specs(d / "missing"), ArgumentError,
         "{d}/missing: spec folder not found; fix: run from the project folder or name the "
         "specs: fairledger serve SPEC [SPEC ...]"),
        (lambda d: find_scheduled_specs((_spec(d, "n"), d)[1]), ArgumentError,
         "{d}: no spec in {d} has a schedule; fix: add 'schedule: {{cron: ..., timezone: ...}}' "
         "to a spec or name the specs with --interval SECONDS"),
        (lambda d: scheduled_specs([_spec(d, "z", '{cron: "0 3 * * *", timezone: Mars/Base}')]),
         SpecError,
         "{d}/z.yaml: schedule.timezone: unknown time zone 'Mars/Base'; "
         "fix: use an IANA time zone name such as UTC or Europe/Paris"),
    ],
)
def test_bad_serve_input(tmp_path: Path, build, error: type, line: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        build(tmp_path)
    assert isinstance(info.value, ArgumentError | SpecError)
    assert info.value.line() == line.format(d=tmp_path)


def test_serve_with_unreachable_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main
    from flows.local_server import free_port

    url = f"http://127.0.0.1:{free_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    path = _spec(tmp_path, "daily", '{cron: "0 3 * * *"}')
    assert main(["serve", str(path), "--home", str(tmp_path / "ledger")]) == 2
    assert capsys.readouterr().err == (
        f"error: PREFECT_API_URL: no Prefect API answers at {url}; fix: start one with "
        "'prefect server start' then 'export PREFECT_API_URL=http://127.0.0.1:4200/api'\n"
    )
