"""The ``audit_partitions`` flow: one counting task per Parquet partition, merged.

Counts first, scaled out: each Parquet file of a dataset (a folder of
files, hive-partitioned ``key=value`` folders included, or a single file)
is counted by its own task with :func:`audits.counts.count_confusion`;
partition counts merge by addition and the merged counts are audited once
with :func:`audits.engine.audit_counts`. With a Dask task runner (see
:func:`flows.runners.make_task_runner`) the counting tasks run on the
cluster's workers; the result is the same as with local threads.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from flows.runners import RunnerKind, make_task_runner
from pipelines.errors import DataError

__all__ = ["parquet_partitions", "count_partition", "audit_merged", "audit_partitions",
           "run_audit_partitions"]


def parquet_partitions(dataset: str | Path) -> list[Path]:
    """Return the Parquet files of a dataset: the file itself, or every file under a folder.

    Parameters
    ----------
    dataset : str or Path
        A Parquet file, or a folder of Parquet files (hive ``key=value`` sub-folders allowed).

    Returns
    -------
    list of Path
        Files sorted by path (hidden and ``_``-prefixed files skipped).

    Raises
    ------
    DataError
        When the path does not exist or the folder holds no Parquet file.
    """
    root = Path(dataset)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError("dataset not found", where=str(root),
                        fix="pass a Parquet file or a folder of Parquet files")
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".pq")
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    )
    if not files:
        raise DataError("no Parquet file in the folder", where=str(root),
                        fix="pass a folder holding *.parquet files")
    return files


def _batches(root: Path, file: Path, columns: Sequence[str]) -> Iterator[Any]:
    """Stream the needed columns of one partition, hive partition keys included."""
    import pyarrow.dataset as ds

    base = root if root.is_dir() else file.parent
    part = ds.dataset([str(file)], format="parquet", partitioning="hive",
                      partition_base_dir=str(base))
    missing = [c for c in columns if c not in part.schema.names]
    if missing:
        raise DataError(f"column '{missing[0]}' not found", where=str(file),
                        fix=f"use one of the columns: {', '.join(part.schema.names[:20])}")
    yield from part.to_batches(columns=list(columns))


@task(name="count-partition", cache_policy=NONE)
def count_partition(
    root: str, file: str, label: str, prediction: str, sensitive: list[str],
    intersections: list[list[str]], pos_label: Any = None,
) -> Any:
    """Count the confusion cells of one partition (mergeable ``Counts``)."""
    from audits.counts import count_confusion

    columns = list(dict.fromkeys([label, prediction, *sensitive]))
    return count_confusion(
        _batches(Path(root), Path(file), columns), label=label, prediction=prediction,
        sensitive=sensitive, intersections=intersections, pos_label=pos_label,
    )


@task(name="merge-and-audit", cache_policy=NONE)
def audit_merged(
    partition_counts: list[Any], n_boot: int, seed: int, min_group_size: int
) -> dict[str, Any]:
    """Merge partition counts by addition and audit them once."""
    from audits.engine import audit_counts

    merged = functools.reduce(operator.add, partition_counts)
    result = audit_counts(merged, n_boot=n_boot, seed=seed, min_group_size=min_group_size)
    return {"partitions": len(partition_counts), **result.to_dict()}


@flow(name="audit_partitions")
def audit_partitions(
    dataset: str,
    label: str,
    prediction: str,
    sensitive: list[str],
    intersections: list[list[str]] | None = None,
    pos_label: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_group_size: int = 30,
) -> dict[str, Any]:
    """Audit a partitioned Parquet dataset: count each partition in its own task, merge, audit.

    Parameters
    ----------
    dataset : str
        A Parquet file or a folder of Parquet files.
    label, prediction : str
        Binary label and prediction columns.
    sensitive : list of str
        Sensitive columns.
    intersections : list of list of str, optional
        Intersections of sensitive columns to audit.
    pos_label : object, optional
        Positive value of label and prediction (default 1 / True).
    n_boot, seed, min_group_size : int
        Bootstrap replicates, seed and minimum group size (see ``audit_counts``).

    Returns
    -------
    dict
        ``partitions`` (tasks run) and the ``metrics``, ``groups``,
        ``disparities`` and ``bootstrap`` sections of the result.
    """
    root = Path(dataset).resolve()
    files = parquet_partitions(root)
    futures = [
        count_partition.submit(str(root), str(f), label, prediction, list(sensitive),
                               [list(i) for i in intersections or []], pos_label)
        for f in files
    ]
    counts = [future.result() for future in futures]
    return audit_merged(counts, n_boot, seed, min_group_size)


def run_audit_partitions(
    dataset: str | Path, *, runner: RunnerKind = "local", address: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run :func:`audit_partitions` with the task runner of ``--runner``/``--dask-address``.

    Parameters
    ----------
    dataset : str or Path
        A Parquet file or a folder of Parquet files.
    runner : {"local", "dask"}
        The task runner kind.
    address : str, optional
        A Dask scheduler address (default: a local cluster of two worker processes).
    **options : Any
        The other parameters of :func:`audit_partitions`.

    Returns
    -------
    dict
        The flow's result.
    """
    configured = audit_partitions.with_options(task_runner=make_task_runner(runner, address))
    return configured(str(dataset), **options)
