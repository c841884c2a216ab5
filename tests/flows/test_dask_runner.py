"""The same partitioned audit with local threads and with a Dask cluster of two processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audits.engine import audit_predictions
from flows.audit import parquet_partitions, run_audit_partitions
from flows.runners import make_task_runner
from pipelines.errors import ArgumentError, DataError

OPTIONS: dict[str, Any] = {
    "label": "label",
    "prediction": "pred",
    "sensitive": ["race", "sex"],
    "intersections": [["race", "sex"]],
    "n_boot": 200,
    "seed": 7,
}


def _table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    race = rng.choice(["a", "b", "c", "d"], size=rows, p=[0.5, 0.3, 0.15, 0.05])
    sex = rng.choice(["female", "male"], size=rows)
    label = rng.integers(0, 2, size=rows)
    flip = rng.random(rows) < np.where(race == "a", 0.2, 0.35)
    pred = np.where(flip, 1 - label, label)
    region = rng.choice(["north", "south", "east"], size=rows)
    return pa.table({"race": race, "sex": sex, "label": label, "pred": pred, "region": region})


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    table = _table(30_000, seed=3)
    root = tmp_path_factory.mktemp("partitioned")
    # hive partitions on a sensitive column and a plain one: the keys live in folder names
    frame = table.to_pandas()
    for (sex, region), part in frame.groupby(["sex", "region"]):
        folder = root / f"sex={sex}" / f"region={region}"
        folder.mkdir(parents=True)
        rest = pa.Table.from_pandas(part.drop(columns=["sex", "region"]), preserve_index=False)
        for k, start in enumerate(range(0, rest.num_rows, 2_500)):
            pq.write_table(rest.slice(start, 2_500), folder / f"part-{k}.parquet")
    return root, table


def _canonical(result: dict) -> str:
    return json.dumps(result, sort_keys=True, default=str)


def test_local_and_dask_give_identical_results(partitioned: tuple[Path, pa.Table]) -> None:
    root, table = partitioned
    files = parquet_partitions(root)
    assert len(files) >= 12  # 2 sexes x 3 regions x at least 2 files each
    local = run_audit_partitions(root, runner="local", **OPTIONS)
    dask = run_audit_partitions(root, runner="dask", **OPTIONS)
    assert local["partitions"] == dask["partitions"] == len(files)
    assert _canonical(local) == _canonical(dask)
    # and both equal a single streaming pass over the whole table
    whole = audit_predictions(table, **OPTIONS).to_dict()
    local.pop("partitions")
    assert _canonical(local) == _canonical(whole)
    race_sex = [g for g in local["groups"] if g["feature"] == "race&sex"]
    assert sum(g["n"] for g in race_sex) == table.num_rows


def test_single_file_is_one_partition(tmp_path: Path) -> None:
    table = _table(2_000, seed=1)
    path = tmp_path / "one.parquet"
    pq.write_table(table, path)
    out = run_audit_partitions(path, runner="local", **OPTIONS)
    assert out["partitions"] == 1
    assert out["metrics"]["n"] == 2_000


def test_missing_column_names_the_partition(partitioned: tuple[Path, pa.Table]) -> None:
    root, _ = partitioned
    with pytest.raises(DataError) as info:
        run_audit_partitions(root, runner="local", **{**OPTIONS, "label": "nope"})
    assert info.value.message == "column 'nope' not found"
    assert info.value.where is not None and info.value.where.endswith(".parquet")


def test_empty_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        parquet_partitions(tmp_path)
    assert info.value.line() == (
        f"{tmp_path}: no Parquet file in the folder; fix: pass a folder holding *.parquet files"
    )


@pytest.mark.parametrize(
    ("kind", "address", "line"),
    [
        ("spark", None, "--runner: unknown task runner 'spark'; fix: use one of: local, dask"),
        ("local", "tcp://1.2.3.4:8786",
         "--dask-address: a Dask address needs the Dask runner; "
         "fix: add '--runner dask' or drop --dask-address"),
        ("dask", "not an address",
         "--dask-address: 'not an address' is not a Dask scheduler address; "
         "fix: pass the scheduler address, e.g. tcp://127.0.0.1:8786"),
    ],
)
def test_bad_runner_arguments(kind: str, address: str | None, line: str) -> None:
    with pytest.raises(ArgumentError) as info:
        make_task_runner(kind, address)  # type: ignore[arg-type]
    assert info.value.line() == line


@pytest.mark.parametrize(("kind", "cls"), [("local", "ThreadPoolTaskRunner"),
                                           ("dask", "DaskTaskRunner")])
def test_runner_kinds(kind: str, cls: str) -> None:
    runner = make_task_runner(kind)  # type: ignore[arg-type]
    assert type(runner).__name__ == cls


def test_dask_address_is_used_as_given() -> None:
    runner = make_task_runner("dask", "127.0.0.1:8786")
    assert runner.address == "tcp://127.0.0.1:8786"  # type: ignore[attr-defined]
