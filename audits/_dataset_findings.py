"""Findings of the dataset audit: thresholds -> pass / warn / fail, in plain language.

Thresholds come from the spec's ``thresholds:`` section (one
:class:`~pipelines.spec.Bound` per metric name); the defaults below apply to
the names the spec leaves out. A value outside ``min``/``max`` fails, one
outside ``warn_min``/``warn_max`` warns, anything else passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipelines.spec import Bound, DatasetSpec

__all__ = ["DEFAULT_BOUNDS", "bounds_for", "grade", "finding", "bound_dict", "all_findings"]

#: Default bounds of the dataset-audit metrics (the spec may override each).
DEFAULT_BOUNDS: dict[str, Bound] = {
    # 0.8 mirrors the four-fifths rule; over-representation is its inverse.
    "representation_ratio": Bound(warn_min=0.8, warn_max=1.25),
    "representation_tvd": Bound(warn_max=0.1),
    "representation_cohens_w": Bound(warn_max=0.3),
    "label_demographic_parity_ratio": Bound(warn_min=0.8),
    "label_demographic_parity_difference": Bound(warn_max=0.1),
    "proxy_association": Bound(warn_max=0.5),
    "missingness_difference": Bound(warn_max=0.05),
    "representation_shift_tvd": Bound(warn_max=0.01),
    "base_rate_shift": Bound(warn_max=0.02),
}


def bounds_for(spec: DatasetSpec | None, overrides: Mapping[str, Bound] | None = None
               ) -> dict[str, Bound]:
    """Return the bounds in force: defaults, then the spec's, then ``overrides``."""
    out = dict(DEFAULT_BOUNDS)
    if spec is not None:
        out.update({k: v for k, v in spec.thresholds.metrics.items() if k in DEFAULT_BOUNDS})
    out.update(overrides or {})
    return out


def bound_dict(bound: Bound) -> dict[str, float]:
    """Return the bound's set limits as a dict (``{"warn_min": 0.8}``)."""
    return {k: v for k, v in bound.model_dump().items() if v is not None}


def grade(value: float | None, bound: Bound) -> str:
    """Return ``"fail"``, ``"warn"`` or ``"pass"`` for ``value`` against ``bound``.

    An undefined value (None or NaN) passes: there is nothing to judge.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "pass"
    if (bound.min is not None and value < bound.min) or (
        bound.max is not None and value > bound.max
    ):
        return "fail"
    if (bound.warn_min is not None and value < bound.warn_min) or (
        bound.warn_max is not None and value > bound.warn_max
    ):
        return "warn"
    return "pass"


def finding(
    severity: str, code: str, message: str, *, feature: str | None = None,
    group: str | None = None, metric: str | None = None, value: Any = None,
    threshold: Bound | dict[str, Any] | None = None, **extra: Any,
) -> dict[str, Any]:
    """Build one finding dict with the fields of ``fairledger.result/1``."""
    if isinstance(threshold, Bound):
        threshold = bound_dict(threshold)
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    return {"severity": severity, "code": code, "message": message, "feature": feature,
            "group": group, "metric": metric, "value": value, "threshold": threshold, **extra}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _representation(audit: Mapping[str, Any], bounds: Mapping[str, Bound],
                    ref_status: str) -> list[dict[str, Any]]:
    out = []
    proxy = " (a labelled PROXY reference)" if ref_status == "proxy" else ""
    for name, rep in audit["representativeness"].items():
        caveat = rep["caveats"][0] if rep["caveats"] else None
        for g in rep["groups"]:
            b = bounds["representation_ratio"]
            sev = grade(g["ratio"], b)
            msg = (f"{g['group']} ({name}) make up {_pct(g['share'])} of the compared rows "
                   f"and {_pct(g['reference_share'])} of the reference population{proxy}: "
                   f"{g['ratio']:.2f} times their reference share." if g["ratio"] is not None
                   and math.isfinite(g["ratio"]) else f"{g['group']} ({name}): no ratio.")
            out.append(finding(sev, "representation_ratio", msg, feature=name, group=g["group"],
                               metric="representation_ratio", value=g["ratio"], threshold=b,
                               caveat=caveat))
        for metric, key, what in (("representation_tvd", "tvd", "total variation distance"),
                                  ("representation_cohens_w", "cohens_w", "Cohen's w")):
            b = bounds[metric]
            value = rep[key]
            msg = (f"The {name} distribution differs from the reference{proxy} by a {what} of "
                   f"{value:.3f} (chi-square p = {rep['p_value']:.3g} over "
                   f"{rep['n_compared']} rows)." if value is not None and math.isfinite(value)
                   else f"The {name} distribution could not be compared (no matched rows).")
            out.append(finding(grade(value, b), metric, msg, feature=name, metric=metric,
                               value=value, threshold=b, caveat=caveat))
        for u in rep["no_counterpart"]:
            if u["n"] == 0:
                continue
            sev = "warn" if u["reason"] == "not in the reference mapping" else "pass"
            out.append(finding(sev, "no_reference_counterpart",
                               f"{u['n']} rows with {name} = {u['group']} ({u['reason']}) are "
                               "reported apart and left out of the comparison.",
                               feature=name, group=u["group"], metric="n", value=u["n"]))
    return out


def _label_bias(audit: Mapping[str, Any], bounds: Mapping[str, Bound]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    section = audit["label_bias"].get("features", {})
    for name, entry in section.items():
        parity = entry["parity"]
        if parity.get("undefined"):
            continue
        low, high = parity["between"]
        for kind in ("ratio", "difference"):
            metric = f"label_demographic_parity_{kind}"
            value = parity[kind]["value"]
            b = bounds[metric]
            how = "times" if kind == "ratio" else "lower (as a proportion) than"
            msg = (f"Before any model, the positive label rate of {low} ({name}) is "
                   f"{value:.2f} {how} that of {high}.")
            out.append(finding(grade(value, b), metric, msg, feature=name, group=low,
                               metric=metric, value=value, threshold=b))
    return out


def _coverage(audit: Mapping[str, Any], min_group_size: int) -> list[dict[str, Any]]:
    out = []
    for inter in audit["coverage"]["intersections"]:
        for cell in inter["cells"]:
            if cell["small"]:
                out.append(finding(
                    "warn", "small_intersection_cell",
                    f"Only {cell['n']} rows are {cell['group']} ({inter['feature']}), fewer than "
                    f"the minimum group size {min_group_size}: metrics for them are unreliable.",
                    feature=inter["feature"], group=cell["group"], metric="n", value=cell["n"],
                    threshold={"min": min_group_size}))
    patterns = audit["coverage"]["patterns"]
    for mup in patterns.get("maximal_uncovered", [])[:20]:
        out.append(finding(
            "warn", "uncovered_pattern",
            f"The pattern {mup['label']} has {mup['n']} rows, fewer than {min_group_size}, "
            "while every more general pattern is covered.",
            feature="&".join(patterns["features"]), group=mup["label"], metric="n",
            value=mup["n"], threshold={"min": min_group_size}))
    return out


def _proxies(audit: Mapping[str, Any], bounds: Mapping[str, Bound]) -> list[dict[str, Any]]:
    b = bounds["proxy_association"]
    rows = [r for r in audit["proxies"]["columns"] if r.get("value") is not None]
    out = []
    for r in rows:
        sev = grade(r["value"], b)
        if sev != "pass":
            out.append(finding(sev, "proxy", f"Column {r['column']} is associated with "
                               f"{r['feature']} ({r['measure']} = {r['value']:.2f}): a model "
                               f"that leaves out {r['feature']} can still use it.",
                               feature=r["feature"], group=r["column"], metric=r["measure"],
                               value=r["value"], threshold=b))
    if rows and not out:
        r = rows[0]
        out.append(finding("pass", "proxy", f"The strongest association with a sensitive "
                           f"feature is {r['column']} with {r['feature']} ({r['measure']} = "
                           f"{r['value']:.2f}).", feature=r["feature"], group=r["column"],
                           metric=r["measure"], value=r["value"], threshold=b))
    return out


def _missingness(audit: Mapping[str, Any], bounds: Mapping[str, Bound]) -> list[dict[str, Any]]:
    b = bounds["missingness_difference"]
    out = []
    for col in audit["missingness"]:
        for name, feat in col["features"].items():
            value = feat.get("max_difference")
            sev = grade(value, b)
            if sev != "pass" and value is not None:
                low, high = feat["between"]
                out.append(finding(sev, "missingness_by_group",
                                   f"Column {col['column']} is missing more often for {high} "
                                   f"than for {low} ({name}): a gap of {_pct(value)}.",
                                   feature=name, group=high, metric="missingness_difference",
                                   value=value, threshold=b, column=col["column"]))
    return out


def all_findings(audit: Mapping[str, Any], spec: DatasetSpec, ref: Any) -> list[dict[str, Any]]:
    """Return every finding of a dataset audit, in section order."""
    bounds = bounds_for(spec)
    status = ref.status if ref is not None else "none"
    out = _representation(audit, bounds, status)
    out += _label_bias(audit, bounds)
    out += _coverage(audit, spec.min_group_size)
    out += _proxies(audit, bounds)
    out += _missingness(audit, bounds)
    if ref is None:
        out.insert(0, finding("pass", "no_reference", "The spec links no reference population, "
                              "so representativeness was not measured."))
    return out
