"""The leaderboard: one row per model of a dataset version, and the list of results.

``<home>/results/<name>/<version>/leaderboard.parquet`` is rebuilt from the
``result.json`` files of the version after every evaluation (written
atomically). A row carries accuracy with its interval, ROC AUC, the worst
group's accuracy, the worst demographic parity ratio and equalized odds
difference over the sensitive features, and the result's verdict.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import NotFoundError
from pipelines.ledger_io import atomic_write_bytes, check_name
from pipelines.ledger_read import resolve_version
from pipelines.results import read_result, results_root

__all__ = ["LEADERBOARD_SCHEMA", "leaderboard_row", "write_leaderboard", "read_leaderboard",
           "list_results"]

LEADERBOARD_SCHEMA = pa.schema([
    ("model", pa.string()), ("kind", pa.string()), ("split", pa.string()), ("rows", pa.int64()),
    ("accuracy", pa.float64()), ("accuracy_ci_low", pa.float64()),
    ("accuracy_ci_high", pa.float64()), ("roc_auc", pa.float64()),
    ("worst_group_accuracy", pa.float64()), ("worst_group", pa.string()),
    ("demographic_parity_ratio", pa.float64()), ("demographic_parity_feature", pa.string()),
    ("equalized_odds_difference", pa.float64()), ("equalized_odds_feature", pa.string()),
    ("verdict", pa.string()), ("result", pa.string()),
])


def _value(entry: Any) -> float | None:
    return entry.get("value") if isinstance(entry, Mapping) else None


def _worst_disparity(doc: Mapping[str, Any], metric: str,
                     largest: bool) -> tuple[float | None, str | None]:
    found = [(d["value"], d["feature"]) for d in doc.get("disparities", [])
             if d["metric"] == metric and d.get("method") == "between_groups"
             and d.get("agg") in (None, "worst_case") and d.get("value") is not None]
    if not found:
        return None, None
    return max(found) if largest else min(found)


def leaderboard_row(doc: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Summarise one ``result.json`` as a leaderboard row.

    The worst group is the lowest accuracy among groups of single sensitive
    features with at least ``min_group_size`` rows.
    """
    acc = doc["metrics"].get("accuracy", {})
    ci = acc.get("ci") or [None, None]
    min_size = doc.get("min_group_size") or 0
    eligible = [(_value(g.get("accuracy")), f"{g['feature']}={g['group']}")
                for g in doc.get("groups", [])
                if "&" not in g["feature"] and g.get("n", 0) >= min_size
                and _value(g.get("accuracy")) is not None]
    worst = min(eligible) if eligible else (None, None)
    dpr = _worst_disparity(doc, "demographic_parity_ratio", largest=False)
    eod = _worst_disparity(doc, "equalized_odds_difference", largest=True)
    return {
        "model": doc["model"]["id"], "kind": doc["model"]["kind"],
        "split": doc["dataset"]["split"], "rows": doc["dataset"]["rows"],
        "accuracy": _value(acc), "accuracy_ci_low": ci[0], "accuracy_ci_high": ci[1],
        "roc_auc": _value(doc["metrics"].get("roc_auc")),
        "worst_group_accuracy": worst[0], "worst_group": worst[1],
        "demographic_parity_ratio": dpr[0], "demographic_parity_feature": dpr[1],
        "equalized_odds_difference": eod[0], "equalized_odds_feature": eod[1],
        "verdict": doc["verdict"], "result": path,
    }


def _result_files(home: Path, name: str, version: str) -> list[Path]:
    root = results_root(home, name, version)
    if not root.is_dir():
        return []
    return sorted(p / "result.json" for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "result.json").is_file())


def write_leaderboard(home: Path, name: str, version: str) -> Path:
    """Rebuild ``leaderboard.parquet`` of a version from its results (atomically).

    Returns
    -------
    pathlib.Path
        The leaderboard file.
    """
    rows = [leaderboard_row(read_result(p), p.relative_to(home).as_posix())
            for p in _result_files(Path(home), name, version)]
    table = pa.Table.from_pylist(rows, schema=LEADERBOARD_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    path = results_root(home, name, version) / "leaderboard.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, sink.getvalue())
    return path


def read_leaderboard(home: Path, name: str, version: str | None = None) -> tuple[str, list[dict]]:
    """Return ``(version id, rows)`` of a version's leaderboard (default: latest version).

    Raises
    ------
    NotFoundError
        When the dataset or version does not exist or has no evaluated model.
    """
    vid = resolve_version(Path(home), name, version)
    path = results_root(home, name, vid) / "leaderboard.parquet"
    if not path.is_file():
        raise NotFoundError(f"no results for {name}@{vid[:12]}", where=str(path.parent),
                            fix=f"evaluate models first: fairledger evaluate "
                                f"datasets_spec/{name}.yaml")
    rows = pq.read_table(path).to_pylist()
    return vid, sorted(rows, key=lambda r: (-(r["accuracy"] or 0.0), r["model"]))


def list_results(home: Path, name: str) -> list[dict[str, Any]]:
    """List every ``result.json`` of a dataset, newest version first within refs order.

    Raises
    ------
    NotFoundError
        When the dataset has no results.
    """
    root = Path(home) / "results" / check_name(name)
    out = []
    for path in sorted(root.glob("*/*/result.json")) if root.is_dir() else []:
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            doc = {}
        out.append({"version": path.parent.parent.name, "model": path.parent.name,
                    "verdict": doc.get("verdict"),
                    "created_at": (doc.get("provenance") or {}).get("created_at"),
                    "path": str(path)})
    if not out:
        raise NotFoundError(f"no results for dataset {name!r}", where=str(root),
                            fix=f"evaluate models first: fairledger evaluate "
                                f"datasets_spec/{name}.yaml")
    return sorted(out, key=lambda r: (str(r["created_at"]), r["model"]), reverse=True)
