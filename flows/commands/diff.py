"""``fairledger diff NAME V1 V2 [--json]``: what changed between two dataset versions."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``diff`` sub-command."""
    p = subparsers.add_parser(
        "diff", parents=parents, help="compare two versions of a dataset",
        description="Rows, schema changes, group shares and base rates of two versions, "
                    "with the change and its total variation distance.")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("v1", metavar="V1", help="older version (id, prefix, tag or 'latest')")
    p.add_argument("v2", metavar="V2", help="newer version (id, prefix, tag or 'latest')")
    p.add_argument("--spec", default=None,
                   help="spec for thresholds and for versions without audit.json "
                        "(default datasets_spec/NAME.yaml)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run)


def _lines(diff: dict[str, Any], name: str) -> list[str]:
    a, b = diff["a"]["version"] or "?", diff["b"]["version"] or "?"
    out = [f"{name}: {a[:12]} -> {b[:12]}"]
    out += [f"rows {k}: {v['a']:,} -> {v['b']:,} ({v['change']:+,})"
            for k, v in diff["rows"].items()]
    sc = diff["schema"]
    if any(sc.values()):
        out.append(f"schema: added {sc['added'] or '-'}, removed {sc['removed'] or '-'}, "
                   f"retyped {[r['column'] for r in sc['retyped']] or '-'}")
    for feat, entry in diff["features"].items():
        tvd = entry["tvd"]
        out.append(f"\n{feat}: TVD {'-' if tvd is None else f'{tvd:.4f}'}")
        for g in entry["groups"]:
            out.append(f"  {g['group'][:23]:<24}{100 * g['share_a']:6.1f}% ->"
                       f"{100 * g['share_b']:6.1f}% ({100 * g['share_change']:+.1f} points)")
    flagged = [f for f in diff["findings"] if f["severity"] != "pass"]
    out.append(f"\n{len(flagged)} finding(s) beyond thresholds")
    out += [f"  {f['severity']}: {f['message']}" for f in flagged]
    return out


def run(args: argparse.Namespace) -> int:
    """Print the comparison; exit 1 when a finding fails."""
    from audits._dataset_findings import bounds_for
    from audits.drift import diff_audits
    from flows.commands._dataset_audit_io import default_spec_path, load_audit

    home = resolve_home(args.home)
    _, man_a, audit_a, _ = load_audit(home, args.name, args.v1, args.spec)
    _, man_b, audit_b, _ = load_audit(home, args.name, args.v2, args.spec)
    spec_file = default_spec_path(args.name, args.spec)
    spec = None
    if spec_file.is_file():
        from pipelines.spec import load_spec

        spec = load_spec(spec_file)
    diff = diff_audits(audit_a, audit_b, manifest_a=man_a, manifest_b=man_b,
                       thresholds=bounds_for(spec))
    if args.json:
        print_json(diff)
    else:
        print("\n".join(_lines(diff, args.name)))
    return 1 if any(f["severity"] == "fail" for f in diff["findings"]) else 0
