from __future__ import annotations

import re

import pytest
from report_inputs import XSS
from smallcells import leaks, small_cells, text_units

from audits.report import render_html, render_markdown


@pytest.fixture(scope="module")
def html(version_inputs: dict) -> str:
    return render_html(**version_inputs)


def test_report_sections_and_self_contained(html: str) -> None:
    for section in ("card", "quality", "representation", "base-rates", "model-1", "findings",
                    "provenance"):
        assert f'id="{section}"' in html
    assert "Audit the fairness of a pretrial risk score." in html  # datasheet answer
    assert not re.search(r"(src|href)=\"?https?:", html)  # nothing fetched
    assert "<script" not in html.lower()
    assert 'badge-fail">fail' in html and 'badge-pass">pass' in html


def test_charts_have_text_alternatives_and_tables(html: str) -> None:
    svgs = re.findall(r"<svg class=\"chart[^>]*>.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 5  # representation, base rate, 2 model bars, heat map
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert html.count("<table") >= len(svgs)
    assert 'class="chart heat"' in html


def test_small_groups_suppressed_in_html_and_markdown(version_inputs: dict, html: str) -> None:
    cells = small_cells([version_inputs["audit"], *version_inputs["results"]], 30)
    assert "Native American" in cells and "Asian" not in cells
    assert leaks(text_units("r.html", html.encode()), cells) == []
    markdown = render_markdown(**version_inputs)
    assert leaks(markdown.splitlines(), cells) == []
    assert "| Native American | \\<30 | \\<30 |" in markdown


@pytest.mark.parametrize("payload", XSS)
def test_hostile_text_is_escaped(hostile_inputs: dict, payload: str) -> None:
    page = render_html(**hostile_inputs)
    assert payload not in page
    assert payload.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;") in page
    markdown = render_markdown(**hostile_inputs)
    assert payload not in markdown
    assert re.sub(r"([<>\"()\[\]])", r"\\\1", payload).replace("\\\"", "\"") in markdown or \
        "\\<" in markdown
