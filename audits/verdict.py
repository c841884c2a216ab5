"""Thresholds -> verdicts (pass / warn / fail) and plain-language findings.

A threshold in the spec names a metric and bounds it, e.g.
``demographic_parity_ratio: {min: 0.8}`` (the four-fifths rule of the US
Uniform Guidelines on Employee Selection Procedures, 29 CFR 1607.4(D)) or
``equalized_odds_difference: {max: 0.1}``. A disparity threshold applies to
the fairlearn form of the metric: between groups, worst case over rates.
Disparities are judged over groups of at least ``min_group_size`` rows
(:func:`judged_counts`). A value outside ``min``/``max`` fails; inside them but outside
``warn_min``/``warn_max`` warns; otherwise it passes. An overall metric
(e.g. ``accuracy: {min: 0.6}``) is judged the same way. Each warning or
failure becomes a finding that says which group fares worse on what, and by
how much, in a sentence a policy reader understands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from audits.counts import Counts, GroupCounts
from pipelines.spec import Bound, Thresholds

__all__ = ["Verdict", "judge_value", "judge", "judged_counts", "RATE_WORDS", "SEVERITY_ORDER"]

Verdict = Literal["pass", "warn", "fail"]
SEVERITY_ORDER: dict[str, int] = {"pass": 0, "info": 0, "warn": 1, "fail": 2}

#: How each rate reads, and whether a higher value is worse for the group.
RATE_WORDS: dict[str, tuple[str, bool | None]] = {
    "selection_rate": ("rate of positive predictions", None),
    "tpr": ("true positive rate", False),
    "fpr": ("false positive rate", True),
    "fnr": ("false negative rate", True),
    "tnr": ("true negative rate", False),
    "ppv": ("precision (positive predictive value)", False),
    "accuracy": ("accuracy", False),
}


def _bound_dict(bound: Bound) -> dict[str, float]:
    return {k: v for k, v in bound.model_dump().items() if v is not None}


def judge_value(value: float | None, bound: Bound) -> Verdict | None:
    """Return the verdict of one value against its bound (None when undefined).

    Examples
    --------
    >>> judge_value(0.5, Bound(min=0.8))
    'fail'
    >>> judge_value(0.85, Bound(min=0.8, warn_min=0.9))
    'warn'
    """
    if value is None:
        return None
    if (bound.min is not None and value < bound.min) or (
            bound.max is not None and value > bound.max):
        return "fail"
    if (bound.warn_min is not None and value < bound.warn_min) or (
            bound.warn_max is not None and value > bound.warn_max):
        return "warn"
    return "pass"


def _limit_words(value: float, bound: Bound) -> str:
    checks = [(bound.min, value < (bound.min or 0), "below the minimum"),
              (bound.max, value > (bound.max or 0), "above the maximum"),
              (bound.warn_min, value < (bound.warn_min or 0), "below the warning level"),
              (bound.warn_max, value > (bound.warn_max or 0), "above the warning level")]
    for limit, hit, words in checks:
        if limit is not None and hit:
            return f"{words} {limit:g}"
    return "within its bounds"


@dataclass
class _Groups:
    """Group rates by (feature, group), for the sentences."""

    rates: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)

    def rate(self, feature: str, group: str, name: str) -> float | None:
        entry = self.rates.get((feature, group), {}).get(name)
        return entry.get("value") if isinstance(entry, Mapping) else None


def _gap_sentence(d: Mapping[str, Any], groups: _Groups, label: str) -> str:
    """Say which group fares worse on the disparity's decisive rate, and by how much."""
    candidates = d.get("by_rate") or [d]
    best: tuple[float, str] | None = None
    for item in candidates:
        rate, pair = item.get("rate"), item.get("groups_compared")
        if not rate or not pair:
            continue
        hi_g, lo_g = pair
        hi = groups.rate(d["feature"], hi_g, rate)
        lo = groups.rate(d["feature"], lo_g, rate)
        if hi is None or lo is None:
            continue
        words, higher_worse = RATE_WORDS.get(rate, (rate, True))
        gap = abs(hi - lo)
        if higher_worse is None:
            text = (f"{lo_g} receive positive predictions ('{label}') at {lo:.1%}, against "
                    f"{hi:.1%} for {hi_g} ({hi / lo:.2f} times as often)" if lo > 0 else
                    f"{lo_g} never receive positive predictions ('{label}'), against "
                    f"{hi:.1%} for {hi_g}")
        else:
            worse, better = (hi_g, lo_g) if higher_worse else (lo_g, hi_g)
            w, b = (hi, lo) if higher_worse else (lo, hi)
            text = (f"{worse} fare worse: their {words} is {w:.1%}, against {b:.1%} for "
                    f"{better} ({gap * 100:.1f} percentage points)")
        if best is None or gap > best[0]:
            best = (gap, text)
    return best[1] if best else "the groups compared have undefined rates"


def _finding(d: Mapping[str, Any], bound: Bound, verdict: Verdict, groups: _Groups,
             label: str) -> dict[str, Any]:
    name = d["metric"].replace("_", " ")
    ci = d.get("ci")
    ci_words = f" (95% CI {ci[0]:.3f} to {ci[1]:.3f})" if ci else ""
    caveat = (" Some groups compared are smaller than the minimum group size, so this is "
              "uncertain." if d.get("low_confidence") else "")
    message = (f"For {d['feature']}, the {name} is {d['value']:.3f}{ci_words}, "
               f"{_limit_words(d['value'], bound)}: {_gap_sentence(d, groups, label)}.{caveat}")
    return {"severity": verdict, "code": f"{d['metric']}.{d['feature']}",
            "feature": d["feature"], "metric": d["metric"], "message": message}


def _applies(d: Mapping[str, Any]) -> bool:
    return d.get("method") == "between_groups" and d.get("agg") in (None, "worst_case")


def judge(audit: Mapping[str, Any], thresholds: Thresholds, *,
          label: str = "positive") -> dict[str, Any]:
    """Judge an audit (the engine's ``to_dict()``) against the spec's thresholds.

    Parameters
    ----------
    audit : mapping
        With ``metrics``, ``groups`` and ``disparities`` sections.
    thresholds : Thresholds
        The spec's ``thresholds:`` block.
    label : str
        How the positive outcome reads in sentences (e.g. ``"two_year_recid"``).

    Returns
    -------
    dict
        ``disparities`` (each with ``threshold`` and ``verdict``, None when
        no threshold applies), ``metric_verdicts``, ``findings`` (fail first)
        and the overall ``verdict``.
    """
    groups = _Groups({(g["feature"], g["group"]): g for g in audit.get("groups", [])})
    findings: list[dict[str, Any]] = []
    judged: list[dict[str, Any]] = []
    for d in audit.get("disparities", []):
        bound = thresholds.metrics.get(d["metric"]) if _applies(d) else None
        entry = {**d, "threshold": _bound_dict(bound) if bound else None, "verdict": None}
        if bound is not None:
            entry["verdict"] = judge_value(d.get("value"), bound)
            if entry["verdict"] in ("warn", "fail"):
                findings.append(_finding(d, bound, entry["verdict"], groups, label))
        judged.append(entry)
    metric_verdicts = _overall(audit.get("metrics", {}), thresholds, findings)
    findings.extend(_small_groups(audit.get("groups", []), thresholds.min_group_size))
    verdicts = [d["verdict"] for d in judged if d["verdict"]] + list(metric_verdicts.values())
    overall = max(verdicts, key=SEVERITY_ORDER.__getitem__, default="pass")
    findings.sort(key=lambda f: -SEVERITY_ORDER[f["severity"]])
    return {"disparities": judged, "metric_verdicts": metric_verdicts, "findings": findings,
            "verdict": overall}


def _overall(metrics: Mapping[str, Any], thresholds: Thresholds,
             findings: list[dict[str, Any]]) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for name, bound in thresholds.metrics.items():
        entry = metrics.get(name)
        value = entry.get("value") if isinstance(entry, Mapping) else None
        verdict = judge_value(value, bound)
        if verdict is None or value is None:
            continue
        out[name] = verdict
        if verdict != "pass":
            findings.append({"severity": verdict, "code": f"{name}.overall", "metric": name,
                             "message": f"Overall {name.replace('_', ' ')} is {value:.3f}, "
                                        f"{_limit_words(value, bound)}."})
    return out


def _small_groups(groups: Sequence[Mapping[str, Any]], min_size: int) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        if 0 < g.get("n", 0) < min_size and "&" not in g["feature"]:
            out.append({"severity": "info", "code": f"small_group.{g['feature']}",
                        "feature": g["feature"], "group": g["group"],
                        "message": f"{g['feature']} = {g['group']} has only {g['n']} rows, "
                                   f"fewer than the minimum group size {min_size}; its rates "
                                   "are uncertain."})
    return out


def judged_counts(counts: Counts, min_group_size: int) -> Counts | None:
    """Return the counts restricted to groups with at least ``min_group_size`` rows.

    Disparities that decide verdicts compare these groups only, so that a
    group of a handful of rows (or an empty intersection) cannot decide a
    verdict; the small groups stay in the result's ``groups`` with
    ``small: true``. Intersections are flattened to one axis. Features left
    with fewer than two groups are dropped; None when none is left.
    """
    kept: list[GroupCounts] = []
    for item in counts.features:
        flat = item.flat()
        n = flat[..., 0].reshape(flat.shape[0], -1).sum(axis=1)
        keep = np.flatnonzero(n >= max(min_group_size, 1))
        if keep.size < 2:
            continue
        groups = item.groups
        kept.append(GroupCounts((item.feature,), (tuple(groups[i] for i in keep),), flat[keep]))
    if not kept:
        return None
    return Counts(counts.task, counts.cell_levels, counts.stats, tuple(kept))
