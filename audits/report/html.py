"""Render the self-contained HTML fairness audit report (Jinja2, autoescaped).

One file per dataset version: inline CSS, inline SVG charts with text
alternatives and table fallbacks, no script, no network. Every string that
comes from a spec, a group name or a model id goes through Jinja2's
autoescaping, so it is shown as text and never interpreted as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from audits.report import charts
from audits.report.context import TABLE_RATES, build_context, ci_text, fmt_count, fmt_rate, rate
from pipelines.spec import DatasetSpec

__all__ = ["render_html", "environment"]


@lru_cache(maxsize=1)
def environment() -> Any:
    """Return the Jinja2 environment of the report templates (autoescape always on)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("audits.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_rate, count=fmt_count, ci=ci_text)
    env.globals.update(rate=rate, TABLE_RATES=TABLE_RATES)
    return env


def _heat_maps(model: dict[str, Any], metric: str = "selection_rate") -> list[Any]:
    out = []
    for feature, groups in model["intersections"].items():
        parts = feature.split("&")
        if len(parts) != 2:
            continue
        cells: dict[tuple[str, str], Any] = {}
        rows: list[str] = []
        cols: list[str] = []
        for g in groups:
            levels = str(g.get("group", "")).split("&")
            if len(levels) != 2:
                continue
            rows += [levels[0]] if levels[0] not in rows else []
            cols += [levels[1]] if levels[1] not in cols else []
            cells[(levels[0], levels[1])] = rate(g.get(metric))[0]
        out.append(charts.heat_map(
            cells, rows, cols, title=f"{metric} of {model['id']} by {parts[0]} and {parts[1]}",
            desc=(f"Heat map of the {metric} for each combination of {parts[0]} (rows) and "
                  f"{parts[1]} (columns); darker is higher; grey cells are suppressed or "
                  "undefined. The table below gives the same figures."),
        ))
    return out


def _model_charts(model: dict[str, Any]) -> dict[str, Any]:
    bars = {}
    for feature, groups in model["single"].items():
        rows = [{"label": g.get("group"), "value": rate(g.get("selection_rate"))[0],
                 "ci": rate(g.get("selection_rate"))[1], "suppressed": g.get("suppressed")}
                for g in groups]
        bars[feature] = charts.bar_chart(
            rows, title=f"Selection rate of {model['id']} by {feature}",
            desc=(f"Share of each {feature} group that {model['id']} predicts positive, "
                  "with 95% interval whiskers; the table below gives the same figures."))
    return {"bars": bars, "heat": _heat_maps(model)}


def _dataset_charts(ctx: dict[str, Any]) -> dict[str, Any]:
    rep = {r["feature"]: charts.bar_chart(
        r["rows"], title=f"Representation by {r['feature']} against the reference population",
        desc=(f"Share of the dataset in each {r['feature']} group (bar, with 95% interval "
              "whiskers) and the reference population share (black tick); the table below "
              "gives the same figures.")) for r in ctx["representation"]}
    base = {r["feature"]: charts.bar_chart(
        r["rows"], title=f"Label base rate by {r['feature']}",
        desc=(f"Share of positive labels in each {r['feature']} group with 95% interval "
              "whiskers; the table below gives the same figures.")) for r in ctx["base_rates"]}
    return {"representation": rep, "base_rates": base}


def render_html(spec: DatasetSpec, manifest: dict[str, Any], quality: dict[str, Any] | None,
                audit: dict[str, Any] | None, results: Sequence[dict[str, Any]]) -> str:
    """Render the fairness audit report of one dataset version as one HTML page.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset's spec.
    manifest : dict
        The version's ``manifest.json``.
    quality : dict or None
        ``quality.json``.
    audit : dict or None
        ``audit.json`` (the dataset audit).
    results : sequence of dict
        ``fairledger.result/1`` documents of the version's models.

    Returns
    -------
    str
        A self-contained HTML document (small cells suppressed).
    """
    ctx = build_context(spec, manifest, quality, audit, results)
    ctx["charts"] = _dataset_charts(ctx)
    for model in ctx["models"]:
        model["charts"] = _model_charts(model)
    return str(environment().get_template("report.html.j2").render(**ctx))
