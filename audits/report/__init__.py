"""Fairness audit reports: self-contained HTML (Jinja2, inline SVG) and Markdown."""

from __future__ import annotations

from audits.report.html import render_html
from audits.report.markdown import render_markdown

__all__ = ["render_html", "render_markdown"]
