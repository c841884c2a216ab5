"""The policy bundle: one zip a reviewer who does not code can read.

:func:`build_bundle` writes ``summary.pdf`` (WeasyPrint, from the HTML
report), ``summary.html``, ``findings.csv``, ``metrics.csv``,
``croissant.json`` (Croissant 1.1 + RAI), ``datasheet.md``,
``model_cards/<model>.md`` and ``manifest.json`` (sha256 of every other
file, the dataset version, package versions). Aggregates only, never rows;
every figure of a group under the spec's ``min_group_size`` is suppressed
(``<k``) in every file, because every file is rendered from the same
suppressed view (:func:`audits.report.context.build_context`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import re
import zipfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from audits.croissant import croissant_metadata
from audits.datasheet import render_datasheet
from audits.model_card import render_model_card
from audits.report.context import build_context, rate
from audits.report.html import render_html
from pipelines.errors import ArgumentError
from pipelines.spec import DatasetSpec

__all__ = ["build_bundle", "bundle_files", "safe_file_name", "findings_csv", "metrics_csv",
           "render_pdf", "EXPORT_FORMAT"]

EXPORT_FORMAT = "fairledger.export/1"
_RATES = ("base_rate", "selection_rate", "tpr", "fpr", "tnr", "fnr", "ppv", "npv", "accuracy",
          "balanced_accuracy")
_PACKAGES = ("fairledger", "jinja2", "weasyprint", "mlcroissant", "pyarrow", "numpy")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def safe_file_name(name: str, *, max_len: int = 80) -> str:
    """Return a file name derived from an id that cannot escape or break a folder.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``;
    leading dots are dropped; when anything changed, a short hash of the
    original id keeps distinct ids apart.
    """
    clean = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "_", name)
    clean = re.sub(r"_+", "_", clean).strip("._-")[:max_len] or "model"
    if clean != name:
        clean = f"{clean}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"
    return clean


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def findings_csv(ctx: dict[str, Any]) -> bytes:
    """Return ``findings.csv``: one row per finding of the dataset audit and every model."""
    header = ["severity", "code", "model", "feature", "group", "metric", "value", "interval",
              "threshold", "suppressed", "sentence"]
    rows = []
    for f in ctx["findings"]:
        ci = f.get("ci") or f.get("interval")
        interval = f"{ci[0]}..{ci[1]}" if isinstance(ci, list) and len(ci) == 2 else ""
        threshold = f.get("threshold")
        rows.append([f.get("severity"), f.get("code"), f.get("model"), f.get("feature"),
                     f.get("group"), f.get("metric"), f.get("value"), interval,
                     json.dumps(threshold, sort_keys=True) if threshold else "",
                     "true" if f.get("suppressed") else "false",
                     f.get("message", f.get("sentence", ""))])
    return _csv(header, rows)


def metrics_csv(ctx: dict[str, Any]) -> bytes:
    """Return ``metrics.csv``: group counts and rates (with intervals) of every model."""
    header = ["model", "feature", "group", "n", "tp", "fp", "tn", "fn"]
    for name in _RATES:
        header += [name, f"{name}_ci_low", f"{name}_ci_high"]
    header.append("suppressed")
    rows = []
    for model in ctx["models"]:
        for groups in model["features"].values():
            for g in groups:
                row = [model["id"], g.get("feature"), g.get("group")]
                row += [g.get(c) for c in ("n", "tp", "fp", "tn", "fn")]
                for name in _RATES:
                    value, ci = rate(g.get(name))
                    ci = ci if isinstance(ci, list) and len(ci) == 2 else [None, None]
                    row += [value, ci[0], ci[1]]
                row.append("true" if g.get("suppressed") else "false")
                rows.append(row)
    return _csv(header, rows)


def _no_network(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report is self-contained; refusing to fetch {url}")


def render_pdf(html: str) -> bytes:
    """Render the HTML report to PDF with WeasyPrint (no network access)."""
    import weasyprint

    return bytes(weasyprint.HTML(string=html, url_fetcher=_no_network).write_pdf())


def bundle_files(spec: DatasetSpec, manifest: dict[str, Any], quality: dict[str, Any] | None,
                 audit: dict[str, Any] | None, results: Sequence[dict[str, Any]], *,
                 pdf: bool = True) -> dict[str, bytes]:
    """Return every file of the bundle but ``manifest.json``, as ``{path: bytes}``."""
    ctx = build_context(spec, manifest, quality, audit, results)
    html = render_html(spec, manifest, quality, audit, results)
    files = {
        "summary.html": html.encode("utf-8"),
        "findings.csv": findings_csv(ctx),
        "metrics.csv": metrics_csv(ctx),
        "croissant.json": (json.dumps(croissant_metadata(spec, manifest, audit, list(results)),
                                      indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "datasheet.md": render_datasheet(spec, manifest, quality, audit).encode("utf-8"),
    }
    if pdf:
        files["summary.pdf"] = render_pdf(html)
    for res in results:
        mid = str(res.get("model", {}).get("id", "model"))
        path = f"model_cards/{safe_file_name(mid)}.md"
        if path in files:
            raise ArgumentError(f"two results have the model id {mid!r}", where="results",
                                fix="give every model a distinct id")
        files[path] = render_model_card(spec, manifest, res).encode("utf-8")
    return files


def _packages(manifest: dict[str, Any]) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in _PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def build_bundle(spec: DatasetSpec, manifest: dict[str, Any], quality: dict[str, Any] | None,
                 audit: dict[str, Any] | None, results: Sequence[dict[str, Any]],
                 out: str | Path,
                 on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the policy bundle zip of one dataset version.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset's spec (``thresholds.min_group_size`` sets the suppression).
    manifest, quality, audit : dict
        The version's manifest, quality report and dataset audit.
    results : sequence of dict
        ``fairledger.result/1`` documents of the version's models.
    out : str or pathlib.Path
        The zip file to write (replaced atomically).
    on_step : callable, optional
        Called with the name of each instant of the write (``export.after_entry``,
        ``export.before_replace``, ``export.after_replace``); the CLI passes the
        crash-test fault hook.

    Returns
    -------
    dict
        The bundle's ``manifest.json`` content.
    """
    files = bundle_files(spec, manifest, quality, audit, results)
    small = build_context(spec, manifest, None, audit, results)["small"]
    bundle_manifest = {
        "format": EXPORT_FORMAT,
        "dataset": {"name": spec.name, "version": manifest.get("version"),
                    "spec_digest": manifest.get("spec_digest"),
                    "packages": manifest.get("packages", {})},
        "models": [str(r.get("model", {}).get("id")) for r in results],
        "suppression": {"min_group_size": spec.thresholds.min_group_size,
                        "marker": f"<{spec.thresholds.min_group_size}",
                        "groups": [{"feature": f, "group": g} for f, g in small]},
        "packages": _packages(manifest),
        "files": {p: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
                  for p, b in sorted(files.items())},
    }
    files["manifest.json"] = (json.dumps(bundle_manifest, indent=2, ensure_ascii=False)
                              + "\n").encode("utf-8")
    _write_zip(Path(out), files, on_step or _no_step)
    return bundle_manifest


def _no_step(name: str) -> None:
    """Default ``on_step``: do nothing."""


def _write_zip(out: Path, files: dict[str, bytes], on_step: Callable[[str], None]) -> None:
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{os.urandom(6).hex()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path, data in sorted(files.items()):
                zf.writestr(zipfile.ZipInfo(path, date_time=_ZIP_DATE), data,
                            compress_type=zipfile.ZIP_DEFLATED)
                on_step("export.after_entry")
        on_step("export.before_replace")
        os.replace(tmp, out)
        on_step("export.after_replace")
    finally:
        tmp.unlink(missing_ok=True)
