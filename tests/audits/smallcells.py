"""Scan rendered files for small cells that escaped suppression (shared by the tests)."""

from __future__ import annotations

import html.parser
import re
from typing import Any

from audits.report.context import rate


def _forms(obj: dict[str, Any]) -> set[str]:
    """The text forms of a group entry's own figures (counts, rates)."""
    forms = {str(obj[key]) for key in ("n", "tp", "fp", "tn", "fn", "positives")
             if isinstance(obj.get(key), int)}
    for key, value in obj.items():
        v = rate(value)[0]
        if isinstance(v, float) and not key.startswith("reference"):
            forms |= {f"{v:.1%}", f"{v:.3f}"}
            if len(repr(v)) > 5:  # a short repr (0.8) is also how thresholds print
                forms.add(repr(v))
    return forms


def small_cells(docs: list[dict[str, Any]], k: int) -> dict[str, set[str]]:
    """Map each small group name to the text forms of its own true figures.

    A group small in one document (e.g. a test-split result) may be large in
    another (an all-rows result): figures published for its large occurrence
    are not disclosures, so they are left out.
    """
    out: dict[str, set[str]] = {}
    published: dict[str, set[str]] = {}

    def visit(obj: Any) -> None:
        if isinstance(obj, list):
            for item in obj:
                visit(item)
        elif isinstance(obj, dict):
            n = obj.get("n")
            if isinstance(obj.get("group"), str) and isinstance(n, int) and n >= k:
                published.setdefault(obj["group"], set()).update(_forms(obj))
            if isinstance(obj.get("group"), str) and isinstance(n, int) and n < k:
                forms = out.setdefault(obj["group"], set())
                forms |= _forms(obj)
                # a reference population share is published for every group; where a
                # dataset figure rounds to the same text, that text is not a disclosure
                ref = obj.get("reference_share")
                if isinstance(ref, float):
                    forms -= {f"{ref:.1%}", f"{ref:.3f}"}
            for value in obj.values():
                visit(value)

    visit(docs)
    return {g: forms - published.get(g, set()) for g, forms in out.items()}


def small_keys(docs: list[dict[str, Any]], k: int) -> set[tuple[str, str, str]]:
    """Return ``(model id, feature, group)`` of every group entry under ``k`` rows."""
    keys = set()
    for doc in docs:
        model = str((doc.get("model") or {}).get("id", ""))
        for entry in doc.get("groups") or []:
            if isinstance(entry, dict) and isinstance(entry.get("n"), int) and entry["n"] < k:
                keys.add((model, str(entry.get("feature")), str(entry.get("group"))))
    return keys


class _Units(html.parser.HTMLParser):
    UNITS = {"tr", "li", "p", "title", "g", "dd", "figcaption", "caption", "text"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[list[str]] = []
        self.units: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.UNITS:
            self.stack.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.UNITS and self.stack:
            text = " ".join(self.stack.pop())
            self.units.append(text)
            if self.stack:
                self.stack[-1].append(text)

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1].append(data)


def text_units(name: str, data: bytes) -> list[str]:
    """Split a bundle file into the units a reader sees together (rows, lines)."""
    text = data.decode("utf-8")
    if name.endswith(".html"):
        parser = _Units()
        parser.feed(text)
        return parser.units
    return [part for line in text.splitlines() for part in line.split("; ")]


def leaks(units: list[str], cells: dict[str, set[str]]) -> list[str]:
    """Return the units that name a small group next to one of its true figures."""
    bad = []
    for unit in units:
        # reference population shares are published for every group (not dataset figures)
        unit = re.sub(r"reference \S+", "reference", unit)
        for group, forms in cells.items():
            names = {group, group.replace("&", " & "), group.replace("\\", "")}
            plain = unit.replace("\\", "")
            # a whole group name: "Asian" inside "Asian&Male" names another group
            if not any(re.search(rf"(?<![&\w]){re.escape(n)}(?![&\w])", plain) for n in names):
                continue
            for form in forms:
                if re.search(rf"(?<![\d.]){re.escape(form)}(?![\d,]|\.\d)", unit):
                    bad.append(f"{group}: {form} in {unit[:200]!r}")
    return bad
