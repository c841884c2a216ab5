"""The view of a dataset version that every report format renders.

:func:`build_context` takes the plain inputs (spec, manifest, quality,
dataset audit, results), applies small-cell suppression to all of them at
once and returns one dictionary of display rows. HTML, Markdown, the
datasheet and the model cards all render this view, so they say the same
thing and none of them can show a figure the others suppress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audits.suppression import small_groups, suppress
from pipelines.spec import DatasetSpec

__all__ = ["build_context", "rate", "ci_text", "fmt_rate", "fmt_count", "group_rows",
           "DATASHEET_SECTIONS", "TABLE_RATES"]

#: Datasheet sections (Gebru et al., 2021) in order, with their headings.
DATASHEET_SECTIONS = (
    ("motivation", "Motivation"), ("composition", "Composition"),
    ("collection", "Collection process"), ("preprocessing", "Preprocessing, cleaning, labelling"),
    ("uses", "Uses"), ("distribution", "Distribution"), ("maintenance", "Maintenance"),
    ("personal_information", "Personal and sensitive information"),
    ("social_impact", "Social impact"), ("limitations", "Limitations"),
)
#: Group rates shown in the metric tables.
TABLE_RATES = ("selection_rate", "tpr", "fpr", "fnr", "ppv", "accuracy")


def rate(entry: Any) -> tuple[Any, Any]:
    """Return ``(value, ci)`` of a rate entry that is ``{"value","ci"}`` or a bare figure."""
    if isinstance(entry, dict):
        return entry.get("value"), entry.get("ci")
    return entry, None


def fmt_rate(value: Any) -> str:
    """Format a rate as a percentage, or pass a marker / absence through."""
    if isinstance(value, bool) or value is None:
        return "n/a"
    if isinstance(value, int | float):
        return f"{value:.1%}"
    return str(value)


def fmt_count(value: Any) -> str:
    """Format a count with thousands separators, or pass a marker through."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "n/a" if value is None else str(value)


def ci_text(ci: Any) -> str:
    """Format an interval ``[low, high]`` as ``"12.0%–15.3%"`` (empty when absent)."""
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in ci):
        return f"{ci[0]:.1%}–{ci[1]:.1%}"
    return ""


def _listify(groups: Any) -> list[dict[str, Any]]:
    if isinstance(groups, dict):
        return [{"group": str(k), **v} for k, v in groups.items() if isinstance(v, dict)]
    return [g for g in groups or [] if isinstance(g, dict)]


def group_rows(entry: Any) -> list[dict[str, Any]]:
    """Return the group entries of a feature section (a list, or a mapping by group name)."""
    if isinstance(entry, dict):
        return _listify(entry.get("groups"))
    return _listify(entry)


def _representation(audit: dict[str, Any]) -> list[dict[str, Any]]:
    section = audit.get("representativeness") or audit.get("representation") or {}
    out = []
    for feature, entry in section.items():
        if not isinstance(entry, dict):
            continue
        rows = []
        for g in group_rows(entry):
            value, ci = rate(g.get("share"))
            rows.append({"label": g["group"], "n": g.get("n", g.get("count")), "value": value,
                         "ci": ci if ci is not None else g.get("share_ci"),
                         "reference": g.get("reference_share"), "ratio": g.get("ratio"),
                         "suppressed": bool(g.get("suppressed"))})
        stats = {k: entry[k] for k in ("tvd", "js", "chi2", "p_value") if k in entry}
        out.append({"feature": feature, "rows": rows, "stats": stats,
                    "reference": entry.get("reference")})
    return out


def _base_rates(audit: dict[str, Any]) -> list[dict[str, Any]]:
    section = (audit.get("base_rates") or audit.get("label_base_rates")
               or (audit.get("label_bias") or {}).get("features") or {})
    by_feature: dict[str, list[dict[str, Any]]] = {}
    items = section.items() if isinstance(section, dict) else [(None, section)]
    for feature, entry in items:
        for g in group_rows(entry):
            value, ci = rate(g.get("base_rate", g.get("rate")))
            ci = ci if ci is not None else g.get("ci")
            feat = str(g.get("feature", feature))
            by_feature.setdefault(feat, []).append({
                "label": g["group"], "n": g.get("n"), "value": value, "ci": ci,
                "suppressed": bool(g.get("suppressed"))})
    return [{"feature": f, "rows": rows} for f, rows in by_feature.items()]


def _model_view(result: dict[str, Any]) -> dict[str, Any]:
    groups = [g for g in result.get("groups", []) if isinstance(g, dict)]
    features: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        features.setdefault(str(g.get("feature")), []).append(g)
    model = result.get("model", {})
    return {
        "id": str(model.get("id", "model")), "model": model,
        "metrics": result.get("metrics", {}), "features": features,
        "single": {f: gs for f, gs in features.items() if "&" not in f},
        "intersections": {f: gs for f, gs in features.items() if "&" in f},
        "disparities": [d for d in result.get("disparities", []) if isinstance(d, dict)],
        "findings": result.get("findings", []), "verdict": result.get("verdict"),
        "provenance": result.get("provenance", {}), "dataset": result.get("dataset", {}),
    }


def _findings(audit: dict[str, Any], results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [{"model": "", **f} for f in audit.get("findings", []) if isinstance(f, dict)]
    for res in results:
        mid = str(res.get("model", {}).get("id", ""))
        out.extend({"model": mid, **f} for f in res.get("findings", []) if isinstance(f, dict))
    order = {"fail": 0, "warn": 1, "info": 2, "pass": 3}
    return sorted(out, key=lambda f: order.get(str(f.get("severity")), 2))


def build_context(spec: DatasetSpec, manifest: dict[str, Any], quality: dict[str, Any] | None,
                  audit: dict[str, Any] | None,
                  results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the suppressed display view of one dataset version.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset's spec (title, licence, datasheet, thresholds).
    manifest : dict
        The version's ``manifest.json``.
    quality : dict or None
        ``quality.json`` (expectation results and ``summary``).
    audit : dict or None
        ``audit.json`` (the dataset audit).
    results : sequence of dict
        ``fairledger.result/1`` documents, one per model.

    Returns
    -------
    dict
        Display rows; every group figure under ``spec.thresholds.min_group_size``
        is the marker ``"<k"``.
    """
    k = spec.thresholds.min_group_size
    small = small_groups(audit or {}, *results, min_group_size=k)
    audit_s = suppress(audit or {}, min_group_size=k)
    results_s = [suppress(r, min_group_size=k) for r in results]
    splits = manifest.get("splits", {})
    quality = quality or {}
    return {
        "spec": spec, "manifest": manifest, "k": k, "marker": f"<{k}",
        "small": sorted(small),
        "rows": {s: v.get("rows") for s, v in splits.items() if isinstance(v, dict)},
        "total_rows": sum(int(v.get("rows", 0)) for v in splits.values() if isinstance(v, dict)),
        "datasheet": [(h, getattr(spec.datasheet, key)) for key, h in DATASHEET_SECTIONS],
        "quality": quality.get("summary", quality), "expectations": _expectations(quality),
        "representation": _representation(audit_s), "base_rates": _base_rates(audit_s),
        "audit": audit_s, "models": [_model_view(r) for r in results_s],
        "findings": _findings(audit_s, results_s), "results": results_s,
    }


def _expectations(quality: dict[str, Any]) -> list[dict[str, Any]]:
    rows = quality.get("results") or quality.get("expectations") or []
    return [r for r in rows if isinstance(r, dict)]
