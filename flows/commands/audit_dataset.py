"""``fairledger audit-dataset NAME [--version V] [--json]``: print a version's dataset audit."""

from __future__ import annotations

import argparse
from typing import Any

from flows.commands._common import print_json, resolve_home

__all__ = ["add_parser", "run", "render"]


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the ``audit-dataset`` sub-command."""
    p = subparsers.add_parser(
        "audit-dataset", parents=parents,
        help="who is in a dataset version: representation vs reference, base rates, coverage",
        description="Print the dataset audit (audit.json) of a version: representativeness "
                    "against the reference population, label base rates by group, coverage, "
                    "proxies, missingness by group and findings.")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("--version", default=None, help="version id, prefix, tag or 'latest'")
    p.add_argument("--spec", default=None,
                   help="spec used when the version has no audit.json "
                        "(default datasets_spec/NAME.yaml)")
    p.add_argument("--json", action="store_true", help="print the whole audit as JSON")
    p.set_defaults(func=run)


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:5.1f}%"


def _num(x: Any, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def render(audit: dict[str, Any], title: str) -> list[str]:
    """Return the human-readable lines of an audit."""
    lines = [title, f"rows: {audit['rows']:,}  splits: " + ", ".join(
        f"{k} {v:,}" for k, v in audit["splits"].items())]
    ref = audit.get("reference")
    if ref:
        lines.append(f"reference: {ref['title']} [{ref['status']}] ({ref['file']})")
    for name, rep in audit.get("representativeness", {}).items():
        lines.append(f"\n{name}: TVD {_num(rep['tvd'])}  JS {_num(rep['js'])}  "
                     f"Cohen's w {_num(rep['cohens_w'])}  chi2 {_num(rep['chi2'], '.1f')} "
                     f"(p {_num(rep['p_value'], '.3g')})")
        lines.append(f"  {'group':<24}{'n':>9}{'share':>8}{'ref':>8}{'ratio':>7}")
        for g in rep["groups"]:
            lines.append(f"  {g['group'][:23]:<24}{g['n']:>9,}{_pct(g['share']):>8}"
                         f"{_pct(g['reference_share']):>8}{_num(g['ratio'], '.2f'):>7}")
        for u in rep["no_counterpart"]:
            lines.append(f"  {u['group'][:23]:<24}{u['n']:>9,}  not compared: {u['reason']}")
    lb = audit.get("label_bias", {})
    if "overall" in lb:
        lines.append(f"\nbase rate overall {_num(lb['overall']['base_rate'])}")
        for name, entry in lb["features"].items():
            rates = ", ".join(f"{r['group']} {_num(r['base_rate'])}" for r in entry["groups"])
            ratio = entry["parity"]["ratio"]["value"]
            lines.append(f"  {name}: {rates}  (parity ratio {_num(ratio, '.2f')})")
    mups = audit["coverage"]["patterns"].get("maximal_uncovered", [])
    lines.append(f"\nuncovered patterns (< {audit['min_group_size']} rows): {len(mups)}")
    lines += [f"  {m['label']}: {m['n']}" for m in mups[:10]]
    counts = {s: sum(f["severity"] == s for f in audit["findings"]) for s in ("fail", "warn")}
    lines.append(f"\nverdict: {audit['verdict']}  ({counts['fail']} fail, {counts['warn']} warn)")
    lines += [f"  {f['severity']}: {f['message']}" for f in audit["findings"]
              if f["severity"] == "fail"]
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the audit; exit 1 when its verdict is ``fail``."""
    from flows.commands._dataset_audit_io import load_audit

    home = resolve_home(args.home)
    vid, _, audit, origin = load_audit(home, args.name, args.version, args.spec)
    if args.json:
        print_json(audit)
    else:
        print("\n".join(render(audit, f"{args.name}@{vid[:12]}  ({origin})")))
    return 1 if audit.get("verdict") == "fail" else 0
