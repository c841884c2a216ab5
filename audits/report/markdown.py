"""Markdown summary of a dataset version's audit (Prefect artifacts, datasheets).

Text that comes from specs, group names or model ids is escaped so that a
Markdown renderer shows it as text: ``<``, ``>``, ``&`` and the Markdown
punctuation that could start a link, emphasis or table cell get a backslash
(CommonMark treats a backslash-escaped ``<`` as a literal character, never
as the start of an HTML tag).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from audits.report.context import TABLE_RATES, build_context, ci_text, fmt_count, fmt_rate, rate
from pipelines.spec import DatasetSpec

__all__ = ["render_markdown", "md", "md_table", "group_table", "findings_list"]

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>&~])")


def md(value: Any) -> str:
    """Escape ``value`` as Markdown text on one line."""
    text = " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", text)


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return a GitHub-flavoured Markdown table; every cell is escaped."""
    lines = ["| " + " | ".join(md(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _rate_cell(entry: Any) -> str:
    value, ci = rate(entry)
    interval = ci_text(ci)
    return fmt_rate(value) + (f" ({interval})" if interval else "")


def group_table(groups: Sequence[dict[str, Any]]) -> str:
    """Markdown table of group metrics (counts, rates with intervals)."""
    rows = [[g.get("group", ""), fmt_count(g.get("n"))]
            + [_rate_cell(g.get(r)) for r in TABLE_RATES]
            + ["yes" if g.get("suppressed") else ""] for g in groups]
    return md_table(["group", "rows", *TABLE_RATES, "suppressed"], rows)


def findings_list(findings: Sequence[dict[str, Any]]) -> list[str]:
    """Return one Markdown bullet per finding."""
    out = []
    for f in findings:
        who = f"**{md(f['model'])}**: " if f.get("model") else ""
        text = md(f.get("message", f.get("sentence", "")))
        out.append(f"- **{md(str(f.get('severity', 'info')).upper())}** {who}{text}"
                   f" (`{md(f.get('code', ''))}`)")
    return out


def _dataset_part(ctx: dict[str, Any]) -> list[str]:
    spec, q = ctx["spec"], ctx["quality"]
    out = [f"# Fairness audit: {md(spec.title)}", "",
           f"Dataset `{md(spec.name)}` version `{md(ctx['manifest'].get('version', ''))}`; "
           f"{fmt_count(ctx['total_rows'])} rows; licence {md(spec.license)}. "
           f"Groups with fewer than {ctx['k']} rows are suppressed (shown as {md(ctx['marker'])}).",
           ""]
    if q:
        status = "passed" if q.get("success") else "failed"
        out += [f"**Quality gate {status}**: {q.get('evaluated', 'n/a')} expectations evaluated, "
                f"{q.get('failed', 0)} failed, {q.get('warned', 0)} warned.", ""]
    for r in ctx["representation"]:
        out += [f"## Representation by {md(r['feature'])}", "", md_table(
            ["group", "rows", "share", "95% interval", "reference share"],
            [[g["label"], fmt_count(g["n"]), fmt_rate(g["value"]), ci_text(g["ci"]),
              fmt_rate(g["reference"])] for g in r["rows"]]), ""]
    for r in ctx["base_rates"]:
        out += [f"## Label base rate by {md(r['feature'])}", "", md_table(
            ["group", "rows", "base rate", "95% interval"],
            [[g["label"], fmt_count(g["n"]), fmt_rate(g["value"]), ci_text(g["ci"])]
             for g in r["rows"]]), ""]
    return out


def _model_part(model: dict[str, Any]) -> list[str]:
    out = [f"## Model {md(model['id'])}: {md(model.get('verdict') or 'n/a')}", ""]
    for feature, groups in model["features"].items():
        out += [f"### {md(feature)}", "", group_table(groups), ""]
    judged = [d for d in model["disparities"] if d.get("verdict")]
    if judged:
        rows = [[d.get("feature"), d.get("metric"), d.get("method", ""),
                 d.get("value") if not isinstance(d.get("value"), float) else f"{d['value']:.3f}",
                 ", ".join(f"{k} {v}" for k, v in (d.get("threshold") or {}).items()),
                 d.get("verdict")] for d in judged]
        out += ["### Disparities", "",
                md_table(["feature", "metric", "method", "value", "threshold", "verdict"],
                         rows), ""]
    return out


def render_markdown(spec: DatasetSpec, manifest: dict[str, Any], quality: dict[str, Any] | None,
                    audit: dict[str, Any] | None, results: Sequence[dict[str, Any]]) -> str:
    """Render the Markdown summary of the same findings as the HTML report.

    Parameters
    ----------
    spec, manifest, quality, audit, results
        As for :func:`audits.report.html.render_html`.

    Returns
    -------
    str
        Markdown text (small cells suppressed, user text escaped).
    """
    ctx = build_context(spec, manifest, quality, audit, results)
    out = _dataset_part(ctx)
    out += ["## Findings", ""] + (findings_list(ctx["findings"]) or ["No findings."]) + [""]
    for model in ctx["models"]:
        out += _model_part(model)
    return "\n".join(out).rstrip() + "\n"
