"""Render the HTML report in headless chromium: charts drawn, no errors, no script run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from report_inputs import XSS

from audits.report import render_html

#: Injected into the *test copy* only: records any alert() and measures the SVG charts.
TRAP = "<script>window.alert = function () { document.title = 'XSS'; " \
       "document.documentElement.setAttribute('data-xss', '1'); };</script>"
PROBE = """<script>
var sizes = Array.from(document.querySelectorAll('svg.chart')).map(function (s) {
  var r = s.getBoundingClientRect(); return [r.width, r.height, s.querySelectorAll('rect').length];
});
var out = document.createElement('pre'); out.id = 'probe';
out.textContent = JSON.stringify({sizes: sizes, xss: document.documentElement.getAttribute(
  'data-xss'), imgs: document.images.length, title: document.title});
document.body.appendChild(out);
</script>"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--enable-logging=stderr", "--v=0"]


def _instrument(page: str) -> str:
    assert "Content-Security-Policy" in page  # the real page forbids scripts ...
    page = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", page)
    return page.replace("<head>", "<head>" + TRAP, 1).replace("</body>", PROBE + "</body>", 1)


def _chrome(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, check=True)


def _probe(chromium: str, tmp_path: Path, page: str) -> tuple[dict, str]:
    path = tmp_path / "report.html"
    path.write_text(_instrument(page), encoding="utf-8")
    run = _chrome(chromium, tmp_path, "--dump-dom", path.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, flags=re.S)
    assert found, run.stderr[-2000:]
    data = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return data, run.stderr


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def test_report_renders_charts_without_errors(chromium: str, version_inputs: dict,
                                              tmp_path: Path) -> None:
    page = render_html(**version_inputs)
    data, stderr = _probe(chromium, tmp_path, page)
    assert len(data["sizes"]) >= 5
    for width, height, rects in data["sizes"]:
        assert width > 100 and height > 40 and rects > 0
    assert _console(stderr) == []
    shot = tmp_path / "report.png"
    original = tmp_path / "plain.html"
    original.write_text(page, encoding="utf-8")
    _chrome(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,2400",
            original.as_uri())
    from PIL import Image

    with Image.open(shot) as img:
        colours = {c for _, c in img.convert("RGB").getcolors(1 << 20) or []}
    assert (0x4C, 0x78, 0xA8) in colours  # the bars were painted


@pytest.mark.parametrize("model", [0, 1])
def test_hostile_names_render_as_text(chromium: str, hostile_inputs: dict, tmp_path: Path,
                                      model: int) -> None:
    inputs = dict(hostile_inputs, results=[hostile_inputs["results"][model]])
    data, stderr = _probe(chromium, tmp_path, render_html(**inputs))
    assert data["xss"] is None and data["title"] != "XSS"
    assert data["imgs"] == 0  # the img payload did not become an element
    assert _console(stderr) == []
    dom = (tmp_path / "report.html").read_text()
    assert XSS[0].replace("<", "&lt;").replace(">", "&gt;") in dom
