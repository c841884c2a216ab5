"""Scheduled dataset builds: a spec's ``schedule`` becomes a Prefect deployment.

``schedule: {cron: "0 3 * * 1", timezone: "Europe/Paris"}`` in a spec turns
into a deployment of the :func:`flows.build.build_dataset` flow named after
the dataset, with the spec path and the ledger home as its parameters. Each
scheduled run re-reads the spec and the source: new source bytes publish a
new version whose manifest records the previous one as its parent; nothing
new publishes nothing and the run says ``unchanged``.
``fairledger serve`` serves these deployments against a Prefect server.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pipelines.errors import ArgumentError, SpecError
from pipelines.spec import DatasetSpec, Schedule, load_spec

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Schedule as PrefectSchedule

__all__ = [
    "ScheduledSpec",
    "DEFAULT_SPEC_DIR",
    "schedule_of",
    "scheduled_specs",
    "find_scheduled_specs",
    "to_deployment",
    "deployments",
]

#: Folder searched for specs when ``fairledger serve`` is given none.
DEFAULT_SPEC_DIR = Path("datasets_spec")


@dataclass(frozen=True)
class ScheduledSpec:
    """A spec to serve, with the schedule it will run on.

    Attributes
    ----------
    path : pathlib.Path
        The spec file (absolute).
    spec : DatasetSpec
        The validated spec.
    interval : float or None
        Seconds between runs when overriding the spec's cron (tests, demos).
    """

    path: Path
    spec: DatasetSpec
    interval: float | None = None

    @property
    def describe(self) -> str:
        """Say when this spec is rebuilt, in words (``every 5 s`` or ``cron ... (tz)``)."""
        if self.interval is not None:
            return f"every {self.interval:g} s"
        schedule = self.spec.schedule
        assert schedule is not None
        return f"cron '{schedule.cron}' ({schedule.timezone})"


def schedule_of(
    schedule: Schedule | None, *, interval: float | None = None
) -> PrefectSchedule:
    """Return the Prefect schedule of a spec's ``schedule`` (or of an interval override).

    Parameters
    ----------
    schedule : Schedule or None
        The spec's schedule.
    interval : float, optional
        Seconds between runs; replaces the cron when given.

    Returns
    -------
    prefect.schedules.Schedule
        A ``Cron`` schedule in the spec's time zone, or an ``Interval`` schedule.
    """
    from prefect.schedules import Cron, Interval

    if interval is not None:
        return Interval(datetime.timedelta(seconds=interval), timezone="UTC")
    if schedule is None:
        raise ArgumentError("no schedule to turn into a deployment", where="schedule",
                            fix="add 'schedule: {cron: ..., timezone: ...}' or pass --interval")
    return Cron(schedule.cron, timezone=schedule.timezone)


def _check_interval(interval: float | None) -> None:
    if interval is not None and not interval > 0:
        raise ArgumentError(f"interval must be a positive number of seconds, got {interval:g}",
                            where="--interval", fix="pass e.g. --interval 3600")


def scheduled_specs(
    paths: Sequence[str | Path], *, interval: float | None = None
) -> list[ScheduledSpec]:
    """Load the specs named by the user; each needs a schedule unless ``interval`` is given.

    Parameters
    ----------
    paths : sequence of str or Path
        Spec files.
    interval : float, optional
        Seconds between runs, replacing every spec's schedule.

    Returns
    -------
    list of ScheduledSpec
        One per spec, in the given order.

    Raises
    ------
    SpecError
        A spec is invalid, has no schedule, or names a dataset already listed.
    ArgumentError
        A non-positive interval.
    """
    _check_interval(interval)
    out: list[ScheduledSpec] = []
    for raw in paths:
        path = Path(raw).resolve()
        spec = load_spec(raw)
        if spec.schedule is None and interval is None:
            raise SpecError("the spec has no schedule to serve", where=f"{raw}: schedule",
                            fix="add 'schedule: {cron: \"0 3 * * *\", timezone: UTC}' "
                                "or pass --interval SECONDS")
        if any(item.spec.name == spec.name for item in out):
            raise SpecError(f"dataset '{spec.name}' is given twice", where=str(raw),
                            fix="serve each dataset once")
        out.append(ScheduledSpec(path, spec, interval))
    _validate_timezones(out)
    return out


def _validate_timezones(items: Iterable[ScheduledSpec]) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for item in items:
        schedule = item.spec.schedule
        if item.interval is not None or schedule is None:
            continue
        try:
            ZoneInfo(schedule.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SpecError(f"unknown time zone '{schedule.timezone}'",
                            where=f"{item.path}: schedule.timezone",
                            fix="use an IANA time zone name such as UTC or Europe/Paris") from None


def find_scheduled_specs(
    folder: str | Path = DEFAULT_SPEC_DIR, *, interval: float | None = None
) -> list[ScheduledSpec]:
    """Return every spec in ``folder`` (``*.yaml``, ``*.yml``) that has a schedule.

    Parameters
    ----------
    folder : str or Path
        The spec folder (default ``datasets_spec``).
    interval : float, optional
        Seconds between runs, replacing every schedule (only scheduled specs are served).

    Returns
    -------
    list of ScheduledSpec
        Sorted by file name.

    Raises
    ------
    ArgumentError
        When the folder is missing or holds no spec with a schedule.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ArgumentError("spec folder not found", where=str(root),
                            fix="run from the project folder or name the specs: "
                                "fairledger serve SPEC [SPEC ...]")
    files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
    with_schedule = [f for f in files if load_spec(f).schedule is not None]
    if not with_schedule:
        raise ArgumentError(f"no spec in {root} has a schedule", where=str(root),
                            fix="add 'schedule: {cron: ..., timezone: ...}' to a spec or name "
                                "the specs with --interval SECONDS")
    return scheduled_specs(with_schedule, interval=interval)


def to_deployment(item: ScheduledSpec, home: Path) -> RunnerDeployment:
    """Return the deployment that rebuilds ``item``'s dataset on its schedule.

    Parameters
    ----------
    item : ScheduledSpec
        The spec and its schedule.
    home : pathlib.Path
        The ledger folder the runs publish into.

    Returns
    -------
    prefect.deployments.runner.RunnerDeployment
        Named after the dataset, flow ``build_dataset``, parameters
        ``spec_path`` and ``home`` (absolute paths).
    """
    from prefect.types.entrypoint import EntrypointType

    from flows.build import build_dataset

    deployment = build_dataset.to_deployment(
        name=item.spec.name,
        schedule=schedule_of(item.spec.schedule, interval=item.interval),
        entrypoint_type=EntrypointType.MODULE_PATH,
        parameters={"spec_path": str(item.path), "home": str(Path(home).resolve())},
        description=f"Rebuild {item.spec.title} ({item.describe}) from {item.path.name}",
        tags=["fairledger", "scheduled-build"],
    )
    return cast("RunnerDeployment", deployment)  # sync call: never a coroutine here


def deployments(items: Sequence[ScheduledSpec], home: Path) -> list[RunnerDeployment]:
    """Return one deployment per scheduled spec (see :func:`to_deployment`)."""
    return [to_deployment(item, home) for item in items]
