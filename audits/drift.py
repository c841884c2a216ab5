"""Version drift: what changed between two dataset versions, from their audits.

:func:`diff_audits` compares two ``audit.json`` documents (and the two
manifests): rows per split, schema changes (columns added, removed or
retyped), and for every sensitive feature the group shares and base rates of
both versions with their change and the total variation distance between
the two share vectors. Representation that moved by more than the
``representation_shift_tvd`` bound, or a base rate that moved by more than
``base_rate_shift``, becomes a finding. Scheduled rebuilds use it to say
what changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from audits._dataset_findings import bounds_for, finding, grade
from audits.representativeness import tvd
from pipelines.spec import Bound

__all__ = ["DIFF_FORMAT", "diff_audits"]

DIFF_FORMAT = "fairledger.diff/1"


def _schema(manifest: Mapping[str, Any] | None, audit: Mapping[str, Any]) -> dict[str, str]:
    fields = (manifest or {}).get("schema") or audit.get("schema") or []
    return {f["name"]: f["type"] for f in fields}


def _schema_changes(a: dict[str, str], b: dict[str, str]) -> dict[str, Any]:
    return {
        "added": [k for k in b if k not in a],
        "removed": [k for k in a if k not in b],
        "retyped": [{"column": k, "a": a[k], "b": b[k]} for k in a if k in b and a[k] != b[k]],
    }


def _group_counts(audit: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for split in (audit.get("by_split") or {}).values():
        for feature, groups in split["groups"].items():
            acc = out.setdefault(feature, {})
            for g, n in groups.items():
                acc[g] = acc.get(g, 0) + int(n)
    return out


def _base_rates(audit: Mapping[str, Any], feature: str) -> dict[str, float | None]:
    entry = ((audit.get("label_bias") or {}).get("features") or {}).get(feature) or {}
    return {r["group"]: r["base_rate"] for r in entry.get("groups", [])}


def _change(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _feature_diff(
    feature: str, ca: dict[str, int], cb: dict[str, int], a: Mapping[str, Any],
    b: Mapping[str, Any],
) -> dict[str, Any]:
    groups = list(ca) + [g for g in cb if g not in ca]
    na, nb = sum(ca.values()), sum(cb.values())
    sa = np.array([ca.get(g, 0) / na if na else np.nan for g in groups])
    sb = np.array([cb.get(g, 0) / nb if nb else np.nan for g in groups])
    ra, rb = _base_rates(a, feature), _base_rates(b, feature)
    rows = []
    for i, g in enumerate(groups):
        rows.append({
            "group": g, "n_a": ca.get(g, 0), "n_b": cb.get(g, 0),
            "share_a": float(sa[i]), "share_b": float(sb[i]), "share_change": float(sb[i] - sa[i]),
            "base_rate_a": ra.get(g), "base_rate_b": rb.get(g),
            "base_rate_change": _change(ra.get(g), rb.get(g)),
        })
    return {"groups": rows, "tvd": tvd(sa, sb) if na and nb else None}


def _findings(features: dict[str, Any], bounds: Mapping[str, Bound]) -> list[dict[str, Any]]:
    out = []
    b_tvd, b_rate = bounds["representation_shift_tvd"], bounds["base_rate_shift"]
    for name, entry in features.items():
        value = entry["tvd"]
        sev = grade(value, b_tvd)
        moved = max(entry["groups"], key=lambda r: abs(r["share_change"]))
        msg = (f"The {name} shares moved by a total variation distance of {value:.4f} between "
               f"the versions; the largest change is {moved['group']} "
               f"({100 * moved['share_a']:.1f}% -> {100 * moved['share_b']:.1f}%)."
               if value is not None else f"The {name} shares could not be compared.")
        out.append(finding(sev, "representation_shift", msg, feature=name, group=moved["group"],
                           metric="representation_shift_tvd", value=value, threshold=b_tvd))
        for row in entry["groups"]:
            change = row["base_rate_change"]
            if change is not None and grade(abs(change), b_rate) != "pass":
                out.append(finding(
                    grade(abs(change), b_rate), "base_rate_shift",
                    f"The positive label rate of {row['group']} ({name}) moved from "
                    f"{row['base_rate_a']:.3f} to {row['base_rate_b']:.3f}.",
                    feature=name, group=row["group"], metric="base_rate_shift",
                    value=abs(change), threshold=b_rate))
    return out


def diff_audits(
    a: Mapping[str, Any], b: Mapping[str, Any], *, manifest_a: Mapping[str, Any] | None,
    manifest_b: Mapping[str, Any] | None, thresholds: Mapping[str, Bound] | None = None,
) -> dict[str, Any]:
    """Compare the audits of two versions of a dataset.

    Parameters
    ----------
    a, b : mapping
        The two ``audit.json`` documents (``a`` the older).
    manifest_a, manifest_b : mapping or None
        The two manifests (version id, schema, rows per split); None to use the audits'.
    thresholds : mapping of str to Bound, optional
        Bounds of ``representation_shift_tvd`` and ``base_rate_shift`` (defaults otherwise).

    Returns
    -------
    dict
        ``format``, ``a``/``b`` (version, rows), ``rows`` per split with change,
        ``schema`` (added, removed, retyped), ``features`` (per group: counts,
        shares, base rates of both, changes; TVD per feature), ``representativeness``
        (distance to the reference in each version) and ``findings``.
    """
    bounds = bounds_for(None, thresholds)
    splits = list(a.get("splits", {})) + [s for s in b.get("splits", {}) if s not in a["splits"]]
    rows = {s: {"a": a["splits"].get(s, 0), "b": b["splits"].get(s, 0),
                "change": b["splits"].get(s, 0) - a["splits"].get(s, 0)} for s in splits}
    rows["total"] = {"a": a["rows"], "b": b["rows"], "change": b["rows"] - a["rows"]}
    ca, cb = _group_counts(a), _group_counts(b)
    features = {f: _feature_diff(f, ca[f], cb.get(f, {}), a, b) for f in ca if f in cb}
    reps = {f: {"tvd_a": a["representativeness"][f]["tvd"],
                "tvd_b": b["representativeness"][f]["tvd"]}
            for f in a.get("representativeness", {}) if f in b.get("representativeness", {})}
    return {
        "format": DIFF_FORMAT,
        "dataset": a.get("dataset"),
        "a": {"version": (manifest_a or {}).get("version"), "rows": a["rows"]},
        "b": {"version": (manifest_b or {}).get("version"), "rows": b["rows"]},
        "rows": rows,
        "schema": _schema_changes(_schema(manifest_a, a), _schema(manifest_b, b)),
        "features": features,
        "representativeness": reps,
        "thresholds": {k: {x: y for x, y in bounds[k].model_dump().items() if y is not None}
                       for k in ("representation_shift_tvd", "base_rate_shift")},
        "findings": _findings(features, bounds),
    }
