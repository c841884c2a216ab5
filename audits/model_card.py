"""Model cards (Mitchell et al., 2019, "Model Cards for Model Reporting").

One card per evaluated model, with quantitative analyses disaggregated by
each sensitive feature and each declared intersection, from the
(suppressed) ``fairledger.result/1`` document.
"""

from __future__ import annotations

from typing import Any

from audits.report.context import build_context, ci_text, fmt_count, fmt_rate, rate
from audits.report.markdown import findings_list, group_table, md, md_table
from pipelines.spec import DatasetSpec

__all__ = ["render_model_card"]


def _details(spec: DatasetSpec, model: dict[str, Any]) -> list[str]:
    info = model["model"]
    declared = next((m for m in spec.models if m.id == info.get("id")), None)
    prov = model["provenance"]
    return [
        "## Model details", "",
        f"- Id: {md(model['id'])}", f"- Kind: {md(info.get('kind', 'n/a'))}",
        f"- Decision threshold: {md(info.get('threshold', 'n/a'))}",
        f"- sha256: `{md(info.get('sha256') or 'n/a')}`",
        f"- Description: {md(declared.description or 'n/a') if declared else 'n/a'}",
        f"- Evaluated with fairledger {md(prov.get('fairledger', 'n/a'))}, seed "
        f"{md(prov.get('seed', 'n/a'))}, at {md(prov.get('created_at', 'n/a'))}", "",
    ]


def _metrics(model: dict[str, Any]) -> list[str]:
    rows = [[name, fmt_rate(rate(entry)[0]), ci_text(rate(entry)[1])]
            for name, entry in model["metrics"].items() if isinstance(entry, dict)]
    return ["## Metrics", "", f"Evaluated on {fmt_count(model['metrics'].get('n'))} rows "
            "(95% intervals: Wilson for rates, bootstrap for balanced accuracy).", "",
            md_table(["metric", "value", "95% interval"], rows), ""]


def _disparities(model: dict[str, Any]) -> list[str]:
    judged = [d for d in model["disparities"] if d.get("verdict")] or [
        d for d in model["disparities"] if d.get("method") == "between_groups"]
    rows = []
    for d in judged:
        value = d.get("value")
        ci = d.get("ci") if isinstance(d.get("ci"), list) else None
        rows.append([d.get("feature"), d.get("metric"), d.get("agg", ""),
                     f"{value:.3f}" if isinstance(value, float) else (value or d.get("undefined")),
                     f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "",
                     ", ".join(f"{k} {v}" for k, v in (d.get("threshold") or {}).items()),
                     d.get("verdict", "")])
    return ["### Disparities", "", md_table(
        ["feature", "metric", "aggregation", "value", "95% interval", "threshold", "verdict"],
        rows), ""]


def render_model_card(spec: DatasetSpec, manifest: dict[str, Any],
                      result: dict[str, Any]) -> str:
    """Render the model card of one evaluated model.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset's spec.
    manifest : dict
        The dataset version's manifest.
    result : dict
        The model's ``fairledger.result/1`` document.

    Returns
    -------
    str
        Markdown; small cells suppressed, ids and names escaped.
    """
    ctx = build_context(spec, manifest, None, None, [result])
    model = ctx["models"][0]
    out = [f"# Model card: {md(model['id'])}", ""]
    out += _details(spec, model)
    out += ["## Intended use", "", md(spec.datasheet.uses) if spec.datasheet.uses
            else "_Not stated in the spec._", "",
            "## Evaluation data", "", f"{md(spec.title)}, version "
            f"`{md(manifest.get('version', ''))}`, "
            f"split {md(model['dataset'].get('split', 'n/a'))}.",
            ""]
    out += _metrics(model)
    out += ["## Quantitative analyses", "",
            f"Disaggregated by group; groups with fewer than {ctx['k']} rows are suppressed "
            f"(shown as {md(ctx['marker'])}).", ""]
    for feature, groups in model["features"].items():
        kind = "Intersection" if "&" in feature else "Feature"
        out += [f"### {kind} {md(feature)}", "", group_table(groups), ""]
    out += _disparities(model)
    out += ["## Ethical considerations and caveats", ""]
    out += findings_list(ctx["findings"]) or ["No findings."]
    return "\n".join(out).rstrip() + "\n"
