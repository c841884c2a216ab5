"""``fairledger show NAME[@VERSION]``: print the manifest of a version."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run", "parse_ref"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``show`` sub-command."""
    p = subparsers.add_parser("show", parents=parents,
                              help="show the manifest of a dataset version")
    p.add_argument("ref", metavar="NAME[@VERSION]",
                   help="dataset name, optionally @version (id, prefix of >= 6 hex, or tag)")
    p.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    p.set_defaults(func=run)


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``NAME[@VERSION]`` into the name and the version (None when absent)."""
    name, sep, version = ref.partition("@")
    return name, (version if sep else None)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _facts(man: dict[str, Any]) -> list[tuple[str, str]]:
    sd = man.get("split_definition", {})
    facts = [
        ("dataset", str(man.get("name"))),
        ("version", str(man.get("version"))),
        ("created", str(man.get("created_at"))),
        ("previous", str(man.get("lineage", {}).get("previous") or "-")),
        ("spec", str(man.get("spec_digest"))),
        ("split", " ".join(f"{k}={v}" for k, v in sd.items() if k != "stratum_hash") or "-"),
    ]
    for split, s in man.get("splits", {}).items():
        facts.append((f"split {split}",
                      f"{s['rows']} rows, {s['file']} ({_size(int(s['bytes']))}), "
                      f"sha256 {s['sha256'][:12]}"))
    cols = ", ".join(f"{f['name']}:{f['type']}" for f in man.get("schema", []))
    facts.append(("columns", cols or "-"))
    for src in man.get("sources", []):
        label = src.get("name") or src.get("file") or src.get("url") or "source"
        facts.append(("source", f"{label} sha256 {str(src.get('sha256', '?'))[:12]}"))
    for rel, sha in man.get("files", {}).items():
        facts.append(("file", f"{rel} sha256 {sha[:12]}"))
    return facts


def run(args: argparse.Namespace) -> int:
    """Print the manifest (key facts, or JSON with ``--json``); 0 on success."""
    from pipelines.store import read_manifest

    name, version = parse_ref(args.ref)
    man = read_manifest(resolve_home(args.home), name, version)
    if args.json:
        print_json(man)
        return 0
    for key, value in _facts(man):
        print(f"{key:<14}{value}")
    return 0
