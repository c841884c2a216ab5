"""Datasheet for a dataset version (Gebru et al., 2021, "Datasheets for Datasets").

Each section is answered from the spec's ``datasheet`` and completed with
the measured figures of the version: rows per split, the quality gate, and
the (suppressed) composition by sensitive feature against the reference
population.
"""

from __future__ import annotations

from typing import Any

from audits.report.context import DATASHEET_SECTIONS, build_context, ci_text, fmt_count, fmt_rate
from audits.report.markdown import findings_list, md, md_table
from pipelines.spec import DatasetSpec

__all__ = ["render_datasheet"]


def _measured(ctx: dict[str, Any], key: str) -> list[str]:
    """Measured figures appended to a section."""
    if key == "composition":
        out = [f"Rows: {fmt_count(ctx['total_rows'])} ("
               + ", ".join(f"{md(s)}: {fmt_count(n)}" for s, n in ctx["rows"].items()) + ")."]
        for rep in ctx["representation"]:
            out += ["", f"Composition by {md(rep['feature'])} (95% intervals; reference population "
                    "shares for comparison):", "", md_table(
                        ["group", "rows", "share", "interval", "reference share"],
                        [[g["label"], fmt_count(g["n"]), fmt_rate(g["value"]), ci_text(g["ci"]),
                          fmt_rate(g["reference"])] for g in rep["rows"]])]
        return out
    if key == "preprocessing" and ctx["quality"]:
        q = ctx["quality"]
        return [f"Quality gate: {'passed' if q.get('success') else 'failed'}; "
                f"{q.get('evaluated', 'n/a')} expectations evaluated, {q.get('failed', 0)} failed."]
    if key == "limitations":
        return findings_list([f for f in ctx["findings"] if not f.get("model")])
    return []


def render_datasheet(spec: DatasetSpec, manifest: dict[str, Any], quality: dict[str, Any] | None,
                     audit: dict[str, Any] | None) -> str:
    """Render ``datasheet.md`` of one dataset version.

    Parameters
    ----------
    spec : DatasetSpec
        The spec (its ``datasheet`` answers each section).
    manifest, quality, audit : dict
        The version's manifest, quality report and dataset audit.

    Returns
    -------
    str
        Markdown; small cells suppressed, spec text escaped.
    """
    ctx = build_context(spec, manifest, quality, audit, [])
    out = [f"# Datasheet: {md(spec.title)}", "",
           f"Dataset `{md(spec.name)}`, version `{md(manifest.get('version', ''))}`. "
           f"Licence: {md(spec.license)}. Citation: {md(spec.citation)}.", "",
           f"Figures of groups with fewer than {ctx['k']} rows are suppressed "
           f"(shown as {md(ctx['marker'])}).", ""]
    for key, heading in DATASHEET_SECTIONS:
        answer = getattr(spec.datasheet, key)
        out += [f"## {heading}", "", md(answer) if answer else "_Not answered in the spec._", ""]
        measured = _measured(ctx, key)
        if measured:
            out += ["Measured:", "", *measured, ""]
    return "\n".join(out).rstrip() + "\n"
