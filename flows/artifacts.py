"""Prefect artifacts of a published benchmark: the summary beside the run.

:func:`publish_artifacts` is called inside ``publish_benchmark`` (a flow
run context is required). It creates one Markdown artifact (the result
summary: verdicts and findings, as written by the Markdown report) and two
table artifacts built from the published ``fairledger.result/1`` documents:
one row per (model, feature, group) with its rates and intervals, and one
row per disparity with its interval, threshold and verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "GROUP_RATES",
    "artifact_key",
    "group_rows",
    "disparity_rows",
    "publish_artifacts",
]

#: Rates of each group shown in the group-metrics table, in order.
GROUP_RATES: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "fnr", "ppv", "accuracy")
_COUNTS = ("n", "tp", "fp", "tn", "fn")


def artifact_key(*parts: str) -> str:
    """Return a Prefect artifact key (lowercase letters, digits and dashes).

    Parameters
    ----------
    *parts : str
        Parts joined by dashes, e.g. ``("fairledger", "compas", "groups")``.

    Returns
    -------
    str
        The key; any other character becomes a dash.
    """
    raw = "-".join(parts).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _interval(entry: Any) -> tuple[Any, str]:
    """Split ``{"value": v, "ci": [lo, hi]}`` into the value and a printable interval."""
    if not isinstance(entry, Mapping):
        return _number(entry), ""
    ci = entry.get("ci") or []
    if len(ci) == 2 and all(isinstance(c, int | float) and math.isfinite(c) for c in ci):
        return _number(entry.get("value")), f"[{ci[0]:.4g}, {ci[1]:.4g}]"
    return _number(entry.get("value")), ""


def _ids(result: Mapping[str, Any]) -> dict[str, Any]:
    dataset = result.get("dataset", {})
    return {
        "dataset": dataset.get("name"),
        "version": str(dataset.get("version", ""))[:12],
        "model": result.get("model", {}).get("id"),
    }


def group_rows(result_summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the rows of the group-metrics table, one per (result, feature, group).

    Parameters
    ----------
    result_summaries : sequence of mapping
        Published results (``fairledger.result/1``).

    Returns
    -------
    list of dict
        Identifiers, counts, each rate of :data:`GROUP_RATES` and its ``*_ci``.
    """
    rows = []
    for result in result_summaries:
        for group in result.get("groups", []):
            row = {**_ids(result), "feature": group.get("feature"), "group": group.get("group")}
            row.update({c: group.get(c) for c in _COUNTS})
            for rate in GROUP_RATES:
                row[rate], row[f"{rate}_ci"] = _interval(group.get(rate))
            row["suppressed"] = bool(group.get("suppressed", False))
            rows.append(row)
    return rows


def disparity_rows(result_summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the rows of the disparities table, one per (result, disparity).

    Parameters
    ----------
    result_summaries : sequence of mapping
        Published results (``fairledger.result/1``).

    Returns
    -------
    list of dict
        Identifiers, feature, metric, method, value, interval, threshold, verdict.
    """
    rows = []
    for result in result_summaries:
        for item in result.get("disparities", []):
            threshold = item.get("threshold") or {}
            ci = item.get("ci") or []
            rows.append({
                **_ids(result),
                "feature": item.get("feature"),
                "metric": item.get("metric"),
                "method": item.get("method"),
                "value": _number(item.get("value")),
                "ci": _interval({"value": None, "ci": ci})[1],
                "threshold": ", ".join(f"{k} {v}" for k, v in threshold.items() if v is not None),
                "verdict": item.get("verdict"),
            })
    return rows


def publish_artifacts(result_summaries: list[dict[str, Any]], markdown: str) -> None:
    """Create the Markdown summary and the group/disparity table artifacts.

    Must run inside a Prefect flow or task run. Keys are
    ``fairledger-<dataset>-summary``, ``-groups`` and ``-disparities`` (the
    dataset of the first result; ``fairledger-benchmark-*`` when empty), so
    the Artifacts page keeps the history of each dataset.

    Parameters
    ----------
    result_summaries : list of dict
        The published results (``fairledger.result/1``), one per model.
    markdown : str
        The Markdown result summary (verdicts and findings).
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    names = sorted({str(r.get("dataset", {}).get("name")) for r in result_summaries})
    base = artifact_key("fairledger", names[0] if len(names) == 1 else "benchmark")
    what = ", ".join(names) or "no results"
    create_markdown_artifact(
        markdown, key=f"{base}-summary", description=f"Benchmark result summary: {what}"
    )
    create_table_artifact(
        group_rows(result_summaries),
        key=f"{base}-groups",
        description=f"Group metrics with 95% intervals: {what}",
    )
    create_table_artifact(
        disparity_rows(result_summaries),
        key=f"{base}-disparities",
        description=f"Disparities with intervals, thresholds and verdicts: {what}",
    )
