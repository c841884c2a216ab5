"""Croissant 1.1 metadata with its Responsible AI (RAI) fields.

:func:`croissant_metadata` describes one dataset version as JSON-LD that
``mlcroissant`` validates: the distribution lists the source files and the
version's Parquet files with their sha256, one record set per split lists
the columns, and the ``rai:*`` fields are answered from the spec's
datasheet and the measured (suppressed) dataset audit.
"""

from __future__ import annotations

import re
from typing import Any

from audits.report.context import build_context, fmt_rate
from pipelines.spec import DatasetSpec, FileSource

__all__ = ["croissant_metadata", "CROISSANT_CONTEXT"]

#: The JSON-LD ``@context`` of Croissant 1.1 with the RAI vocabulary.
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "examples":
    {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract", "field": "cr:field",
    "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format",
    "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset", "key": "cr:key",
    "md5": "cr:md5", "recordSet": "cr:recordSet", "references": "cr:references",
    "regex": "cr:regex", "repeated": "cr:repeated", "replace": "cr:replace",
    "samplingRate": "cr:samplingRate", "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "parentField": "cr:parentField", "path": "cr:path",
    "transform": "cr:transform", "jsonPath": "cr:jsonPath", "fileProperty": "cr:fileProperty",
    "equivalentProperty": "cr:equivalentProperty", "containedIn": "cr:containedIn",
    "isArray": "cr:isArray", "arrayShape": "cr:arrayShape",
}
_TYPES = {"int": "sc:Integer", "uint": "sc:Integer", "float": "sc:Float", "double": "sc:Float",
          "bool": "sc:Boolean", "string": "sc:Text", "large_string": "sc:Text",
          "date": "sc:Date", "timestamp": "sc:DateTime", "dictionary": "sc:Text"}


def _id(text: str) -> str:
    """Return a JSON-LD ``@id`` safe fragment of ``text``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "item"


def _data_type(arrow_type: str) -> str:
    for prefix, dtype in _TYPES.items():
        if arrow_type.startswith(prefix):
            return dtype
    return "sc:Text"


def _distribution(spec: DatasetSpec, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    files = []
    for i, src in enumerate(manifest.get("sources") or []):
        url = src.get("url") or src.get("repo_id") or ""
        name = url.rstrip("/").rsplit("/", 1)[-1] or f"source{i}"
        files.append({"@type": "cr:FileObject", "@id": f"source-{i}-{_id(name)}",
                      "name": f"source-{i}-{_id(name)}", "contentUrl": url,
                      "encodingFormat": _source_format(spec, i), "sha256": src.get("sha256", "")})
    for split, entry in sorted((manifest.get("splits") or {}).items()):
        files.append({"@type": "cr:FileObject", "@id": f"split-{_id(split)}",
                      "name": f"split-{_id(split)}",
                      "description": f"{split} split of version {manifest.get('version', '')}",
                      "contentUrl": entry.get("file", f"data/{split}.parquet"),
                      "encodingFormat": "application/x-parquet",
                      "sha256": entry.get("sha256", "")})
    return files


def _source_format(spec: DatasetSpec, index: int) -> str:
    src = spec.sources[index] if index < len(spec.sources) else None
    fmt = src.format if isinstance(src, FileSource) else "parquet"
    return {"csv": "text/csv", "json": "application/json", "arff": "text/plain"}.get(
        fmt, "application/x-parquet")


def _record_sets(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for split in sorted(manifest.get("splits") or {}):
        sid = f"split-{_id(split)}"
        fields = [{"@type": "cr:Field", "@id": f"{_id(split)}/{_id(col['name'])}",
                   "name": col["name"], "dataType": _data_type(str(col.get("type", "string"))),
                   "source": {"fileObject": {"@id": sid}, "extract": {"column": col["name"]}}}
                  for col in manifest.get("schema") or []]
        out.append({"@type": "cr:RecordSet", "@id": _id(split), "name": _id(split),
                    "description": f"Rows of the {split} split (not included in exports).",
                    "field": fields})
    return out


def _biases(ctx: dict[str, Any]) -> list[str]:
    """One sentence per representation table and per warn/fail finding (model named)."""
    parts = []
    for rep in ctx["representation"]:
        cells = [f"{g['label']} {fmt_rate(g['value'])} (reference {fmt_rate(g['reference'])})"
                 for g in rep["rows"]]
        parts.append(f"Representation by {rep['feature']}: " + "; ".join(cells) + ".")
    for f in ctx["findings"]:
        if f.get("severity") in ("fail", "warn") and f.get("message"):
            model = f"Model {f['model']}: " if f.get("model") else ""
            parts.append(f"{model}{f['message']}")
    return parts or ["No representation audit was recorded."]


def croissant_metadata(
    spec: DatasetSpec, manifest: dict[str, Any], audit: dict[str, Any] | None,
    results: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the Croissant 1.1 JSON-LD of one dataset version with RAI fields.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset's spec.
    manifest : dict
        The version's ``manifest.json`` (files and their sha256).
    audit : dict or None
        The dataset audit (suppressed before use).
    results : list of dict
        Results of the version's models (their findings feed ``rai:dataBiases``).

    Returns
    -------
    dict
        JSON-serialisable Croissant metadata.
    """
    ctx = build_context(spec, manifest, None, audit, results)
    ds = spec.datasheet
    sens = ", ".join(s.column for s in spec.sensitive)
    return {
        "@context": CROISSANT_CONTEXT, "@type": "sc:Dataset",
        "conformsTo": ["http://mlcommons.org/croissant/1.1",
                       "http://mlcommons.org/croissant/RAI/1.0"],
        "name": spec.name, "description": spec.description or spec.title,
        "alternateName": spec.title, "license": spec.license, "citeAs": spec.citation,
        "url": spec.homepage or (manifest.get("sources") or [{}])[0].get("url", ""),
        "version": manifest.get("version", ""),
        "identifier": f"{spec.name}@{manifest.get('version', '')}",
        "datePublished": str(manifest.get("created_at", ""))[:10] or None,
        "distribution": _distribution(spec, manifest), "recordSet": _record_sets(manifest),
        "rai:dataCollection": ds.collection or "Not described in the spec.",
        "rai:dataPreprocessingProtocol": ds.preprocessing or "Not described in the spec.",
        "rai:dataBiases": _biases(ctx),
        "rai:dataLimitations": ds.limitations or "Not described in the spec.",
        "rai:personalSensitiveInformation": ds.personal_information
        or f"Sensitive features: {sens}.",
        "rai:dataUseCases": ds.uses or "Not described in the spec.",
        "rai:dataSocialImpact": ds.social_impact or "Not described in the spec.",
        "rai:dataReleaseMaintenancePlan": ds.maintenance or "Not described in the spec.",
        "rai:hasSyntheticData": False,
    }
