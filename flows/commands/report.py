"""``fairledger report NAME [--version V] --out FILE.html``: the HTML fairness audit report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipelines.errors import ArgumentError, SpecError, VerificationFailed

__all__ = ["add_parser", "run", "load_inputs", "check_out", "write_text_atomic"]

_REPO_SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``report`` sub-command."""
    p = subparsers.add_parser("report", parents=parents,
                              help="write the self-contained HTML fairness audit report")
    p.add_argument("name", help="dataset name")
    p.add_argument("--version", default=None, help="version id, prefix or tag (default: latest)")
    p.add_argument("--spec", default=None,
                   help="the dataset's spec (default: the copy stored in the version)")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.set_defaults(func=run)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise VerificationFailed(f"{path.name} cannot be read ({exc.__class__.__name__})",
                                 where=str(path), fix="run 'fairledger verify'") from None


def _spec_for(name: str, spec_path: str | None, folder: Path) -> Any:
    """Return the spec: ``--spec`` if given, else the copy stored in the version."""
    from pipelines.spec import load_spec, parse_spec

    if spec_path:
        return load_spec(spec_path)
    stored = _read_json(folder / "spec.json")
    if stored is not None:
        return parse_spec(stored, path=str(folder / "spec.json"))
    for candidate in (Path.cwd() / "datasets_spec", _REPO_SPECS):
        if (candidate / f"{name}.yaml").is_file():
            return load_spec(candidate / f"{name}.yaml")
    raise SpecError(f"no spec found for dataset {name!r}", where=f"datasets_spec/{name}.yaml",
                    fix="pass --spec FILE (the spec the dataset was built from)")


def _results(home: Path, name: str, version: str) -> list[dict[str, Any]]:
    from pipelines.results import read_result, results_root

    root = results_root(home, name, version)
    if not root.is_dir():
        return []
    paths = sorted(p / "result.json" for p in root.iterdir()
                   if p.is_dir() and not p.name.startswith("."))
    return [read_result(p) for p in paths if p.is_file()]


def load_inputs(home: Path, name: str, version: str | None,
                spec_path: str | None) -> dict[str, Any]:
    """Look up everything a report or export renders for one dataset version.

    Returns
    -------
    dict
        ``spec``, ``manifest``, ``quality``, ``audit`` and ``results``.

    Raises
    ------
    NotFoundError
        When the dataset or version does not exist.
    SpecError
        When the spec cannot be found or is invalid.
    """
    from pipelines.spec import spec_digest
    from pipelines.store import read_manifest, resolve_version, version_dir

    vid = resolve_version(home, name, version)
    manifest = read_manifest(home, name, vid)
    folder = version_dir(home, name, vid)
    spec = _spec_for(name, spec_path, folder)
    if manifest.get("spec_digest") and spec_digest(spec) != manifest["spec_digest"]:
        print(f"warning: the spec differs from the one {name}@{vid[:12]} was built with "
              "(its descriptions and thresholds are used as they are now)", file=sys.stderr)
    return {"spec": spec, "manifest": manifest, "quality": _read_json(folder / "quality.json"),
            "audit": _read_json(folder / "audit.json"), "results": _results(home, name, vid)}


def check_out(out: str, suffix: str) -> Path:
    """Validate ``--out`` (its folder must exist) and return it as a path."""
    path = Path(out).expanduser()
    if path.suffix.lower() != suffix:
        raise ArgumentError(f"--out must name a {suffix} file, got {out!r}", where="--out",
                            fix=f"pass e.g. --out report{suffix}")
    if not path.parent.resolve().is_dir():
        raise ArgumentError(f"the folder of --out does not exist: {str(path.parent)!r}",
                            where="--out", fix="create the folder first")
    return path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    import os

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{os.urandom(6).hex()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    """Write the HTML report of one dataset version; print its path."""
    from audits.report.html import render_html
    from flows.commands._common import resolve_home

    out = check_out(args.out, ".html")
    inputs = load_inputs(resolve_home(args.home), args.name, args.version, args.spec)
    write_text_atomic(out, render_html(**inputs))
    print(out)
    return 0
