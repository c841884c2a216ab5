"""Small-cell suppression of published aggregates.

Official statistics never publish a cell computed from fewer than *k*
people: the figure is replaced by ``<k`` and the cell is marked suppressed.
:func:`suppress` applies that rule to any fairledger document (a
``fairledger.result/1`` result, a dataset audit, a list of findings): every
count or rate of a group with fewer than ``min_group_size`` rows becomes
the marker ``"<k"``, and every figure *decided by* such a group (a
disparity whose compared or worst group is small, a finding about it)
loses its value as well, since it would let a reader recover the cell.
Reference-population shares are not about the dataset's people and stay.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "marker",
    "is_marker",
    "small_groups",
    "suppress",
    "GroupKey",
    "KEEP_KEYS",
    "COUNT_KEYS",
]

GroupKey = tuple[str, str]

#: Keys whose value says how many rows a group has.
COUNT_KEYS = ("n", "count", "rows")
#: Keys kept as they are in a suppressed group (names, flags, reference population figures).
KEEP_KEYS = frozenset({
    "feature", "group", "suppressed", "small", "label", "members", "level", "pattern",
    "reference_share", "reference", "reference_ci", "reference_count", "reference_share_stated",
    "dataset_categories", "caveat", "caveats", "undefined", "code", "severity", "metric",
    "threshold",
})
#: Keys of a disparity or finding that name the groups deciding it.
_GROUP_REF_KEYS = ("group", "worst_group", "groups_compared", "groups", "by_rate", "between")
#: Keys of a disparity or finding that carry its figures.
_FIGURE_KEYS = ("value", "ci", "observed", "expected", "interval", "share", "rate", "n",
                "difference", "ratio")


def marker(k: int) -> str:
    """Return the text that replaces a suppressed figure (``"<k"``)."""
    return f"<{int(k)}"


def is_marker(value: Any) -> bool:
    """Tell whether ``value`` is a suppression marker such as ``"<30"``."""
    return isinstance(value, str) and value.startswith("<") and value[1:].isdigit()


def _count(entry: Mapping[str, Any]) -> int | None:
    for key in COUNT_KEYS:
        value = entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _group_entries(obj: Any, feature: str | None = None) -> Iterable[tuple[str, str, dict]]:
    """Yield ``(feature, group, entry)`` for every group entry found in ``obj``."""
    if isinstance(obj, list):
        for item in obj:
            yield from _group_entries(item, feature)
        return
    if not isinstance(obj, dict):
        return
    raw = obj.get("feature")
    feat = raw if isinstance(raw, str) else feature
    group = obj.get("group")
    if isinstance(group, str) and _count(obj) is not None:
        yield str(feat), group, obj
    for key, value in obj.items():
        if key == "groups" and isinstance(value, dict):
            for name, entry in value.items():
                if isinstance(entry, dict) and _count(entry) is not None:
                    yield str(feat), str(name), entry
                elif isinstance(entry, dict):
                    for level, num in entry.items():
                        if isinstance(num, int) and not isinstance(num, bool):
                            yield str(name), str(level), {"n": num}
                yield from _group_entries(entry, feat)
        elif key == "feature" and isinstance(value, dict):  # {"race": {...}}: keyed by feature
            for name, section in value.items():
                yield from _group_entries(section, str(name))
        elif isinstance(value, dict | list):
            nested = feat is None and isinstance(value, dict) and _looks_feature(value)
            yield from _group_entries(value, key if nested else feat)


def _looks_feature(value: dict) -> bool:
    return "groups" in value


def small_groups(*docs: Any, min_group_size: int) -> set[GroupKey]:
    """Return the ``(feature, group)`` pairs with fewer than ``min_group_size`` rows.

    Parameters
    ----------
    *docs : Any
        Documents to scan (results, dataset audits).
    min_group_size : int
        The spec's ``thresholds.min_group_size``.

    Returns
    -------
    set of tuple
        Small groups; intersections are named ``("race&sex", "A&B")``.
    """
    out: set[GroupKey] = set()
    for doc in docs:
        for feature, group, entry in _group_entries(doc):
            count = _count(entry)
            if count is not None and count < min_group_size:
                out.add((feature, group))
    return out


def _blank(value: Any, mark: str) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return mark
    if isinstance(value, list):
        return None
    if isinstance(value, dict):
        return {k: (v if k in KEEP_KEYS else _blank(v, mark)) for k, v in value.items()}
    return value


def _suppress_group(entry: dict, mark: str) -> None:
    for key in list(entry):
        if key == "weighted":
            del entry[key]
        elif key not in KEEP_KEYS:
            entry[key] = _blank(entry[key], mark)
    for key in ("message", "sentence"):
        if isinstance(entry.get(key), str):
            entry[key] = (f"Group {entry.get('group')} has fewer than {mark[1:]} rows; "
                          "its figures are suppressed.")
    entry["suppressed"] = True


def _names_in(value: Any) -> set[str]:
    """Group names that a reference field holds (strings, lists of them, ``by_rate`` items)."""
    if isinstance(value, str):
        return {value}
    out: set[str] = set()
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.add(item)
            elif isinstance(item, dict) and "group" not in item:
                out |= _names_in({k: v for k, v in item.items() if k in _GROUP_REF_KEYS})
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in _GROUP_REF_KEYS:
                out |= _names_in(item)
    return out


def _mentions_small(entry: dict, names: set[str]) -> bool:
    refs = set().union(*(_names_in(entry.get(k)) for k in _GROUP_REF_KEYS))
    if refs & names:
        return True
    text = " ".join(str(entry.get(k, "")) for k in ("message", "sentence"))
    return any(name and name in text for name in names)


def _suppress_derived(entry: dict, names: set[str], mark: str, k: int) -> None:
    for key in _FIGURE_KEYS:
        value = entry.get(key)
        if isinstance(value, list):
            entry[key] = None
        elif isinstance(value, int | float | dict) and not isinstance(value, bool):
            entry[key] = _blank(value, mark)
    for key in ("message", "sentence"):
        if key in entry:
            entry[key] = (
                f"A figure here involves a group with fewer than {k} rows "
                f"and is suppressed ({entry.get('code') or entry.get('metric') or 'finding'})."
            )
    entry["suppressed"] = True
    entry["suppressed_reason"] = f"decided by a group with fewer than {k} rows"


def _suppress_counts_map(value: dict, mark: str, k: int) -> None:
    """Suppress ``{feature: {group: count}}`` maps (e.g. per-split group counts)."""
    for entry in value.values():
        if isinstance(entry, dict):
            for level, num in entry.items():
                if isinstance(num, int) and not isinstance(num, bool) and num < k:
                    entry[level] = mark


def _walk(obj: Any, names: set[str], k: int) -> None:
    mark = marker(k)
    if isinstance(obj, list):
        for item in obj:
            _walk(item, names, k)
        return
    if not isinstance(obj, dict):
        return
    count = _count(obj)
    if count is not None and count < k:
        _suppress_group(obj, mark)
        return
    if _mentions_small(obj, names) and any(key in obj for key in (*_FIGURE_KEYS, "message")):
        _suppress_derived(obj, names, mark, k)
    for key, value in obj.items():
        if key == "groups" and isinstance(value, dict):
            _suppress_counts_map(value, mark, k)
        if isinstance(value, dict | list):
            _walk(value, names, k)


def suppress(doc: Any, *, min_group_size: int, small: set[GroupKey] | None = None) -> Any:
    """Return a copy of ``doc`` with every small cell suppressed.

    Parameters
    ----------
    doc : Any
        A result, dataset audit or list of findings (JSON-like).
    min_group_size : int
        Groups with fewer rows are suppressed.
    small : set of tuple, optional
        Small groups whose *derived* figures (disparities, findings naming
        them) are suppressed too (default: the small groups of ``doc``).
        Every entry with its own count under ``min_group_size`` is
        suppressed whatever this says (cell by cell: a group may be small
        in the test split and not in the whole dataset).

    Returns
    -------
    Any
        The suppressed copy; ``doc`` is not modified. Suppressed group entries
        carry ``"suppressed": true`` and ``"<k"`` in place of every figure.
    """
    out = copy.deepcopy(doc)
    small = small_groups(doc, min_group_size=min_group_size) if small is None else small
    _walk(out, {g for _, g in small}, int(min_group_size))
    return out
