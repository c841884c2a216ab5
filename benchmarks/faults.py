"""Kill campaign: SIGKILL builds, evaluations and exports at many instants, then audit.

Usage: ``python benchmarks/faults.py [--kills 200] [--seed 0] [--minutes 15]``

Prepares a ledger (version 1 of a synthetic dataset with a result and a policy
bundle), then repeatedly: copies it, starts a build (of new content), an
evaluation (replacing the result) or an export (replacing the bundle), kills
it with SIGKILL at a named fault point or after a random delay, and checks
that verify is clean, every prior file is intact (sha256) or replaced whole,
and that the next run succeeds and leaves no temporary entry. Jobs run in
children forked from one pre-imported process (``tests/reliability/zygote.py``).
Prints faults injected, kills that landed, survivals, and versions/results
verified intact. The reference for comparison is the same job without a kill.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "reliability")]

from _scenario import (  # noqa: E402
    Zygote,
    cli_env,
    leftovers,
    snapshot,
    synthetic_csv,
    write_dataset,
    zip_source_spec,
)
from test_crash import BUILD_FAULTS, EVALUATE_FAULTS, EXPORT_FAULTS  # noqa: E402

import pipelines.bundle_verify  # noqa: E402,F401
import pipelines.results  # noqa: E402,F401
from pipelines.store import read_refs, verify_ledger  # noqa: E402

FAULTS = {"build": BUILD_FAULTS, "evaluate": EVALUATE_FAULTS, "export": EXPORT_FAULTS}


def _replaced_whole(mode: str, rel: str) -> bool:
    if mode == "build":
        return rel.endswith("/refs.json")
    return rel.startswith("results/" if mode == "evaluate" else "reports/")


def one(z: Zygote, root: Path, base: Path, specs: dict, mode: str, fault: str | None,
        delay: float | None, i: int) -> dict:
    """Run one kill and its checks; return what held."""
    home = root / f"h{i}"
    shutil.copytree(base, home, symlinks=True)
    before, prior = snapshot(home), read_refs(home, "synth")["latest"]
    out = z.run(mode, home, specs[mode], fault=fault, delay=delay, reuse=False)
    problems = verify_ledger(home)
    after = snapshot(home)
    intact = all(after.get(k) == v for k, v in before.items() if not _replaced_whole(mode, k))
    kept = (prior in read_refs(home, "synth")["history"]
            and (home / "results/synth" / prior / "score/result.json").is_file()
            and (home / "reports/synth" / prior / "policy-bundle.zip").is_file())
    again = z.run(mode, home, specs[mode])
    clean = again["rc"] == 0 and not verify_ledger(home) and not leftovers(home)
    row = {"mode": mode, "killed": out["killed"] is not None, "verify": not problems,
           "intact": intact and kept, "recovered": clean,
           "versions": len(read_refs(home, "synth")["history"]),
           "results": len(list(home.glob("results/*/*/*/result.json")))}
    shutil.rmtree(home, ignore_errors=True)
    return row


def main() -> int:
    """Run the campaign and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=15.0)
    opts = ap.parse_args()
    rng = random.Random(opts.seed)
    root = Path(tempfile.mkdtemp(prefix="fairledger-faults-"))
    try:
        spec = write_dataset(root, "synth", synthetic_csv(3000, 0))
        specs = {"build": zip_source_spec(root, "synth", synthetic_csv(3000, 1)),
                 "evaluate": spec, "export": spec}
        env = cli_env(root / "mirror")
        (root / "tmp").mkdir()
        env["TMPDIR"] = str(root / "tmp")
        t0 = time.monotonic()
        z = Zygote(env)
        print(f"zygote ready in {time.monotonic() - t0:.1f} s")
        base = root / "base"
        ref = {}
        for mode in ("build", "evaluate", "export"):
            out = z.run(mode, base, spec)
            assert out["rc"] == 0, out["stderr"]
            ref[mode] = out["elapsed"]
        print("reference (no kill) job seconds: " + ", ".join(f"{k} {v:.2f}"
                                                               for k, v in ref.items()))
        rows, deadline = [], time.monotonic() + opts.minutes * 60
        for i in range(opts.kills):
            if time.monotonic() > deadline:
                print(f"stopped at the {opts.minutes:g}-minute cap")
                break
            mode = ("build", "evaluate", "export")[i % 3]
            if rng.random() < 0.5:
                fault, delay = rng.choice(FAULTS[mode]), None
            else:
                fault, delay = None, rng.uniform(0.02, ref[mode] * 1.1)
            rows.append(one(z, root, base, specs, mode, fault, delay, i))
        z.close()
        _report(rows, time.monotonic() - t0)
        return 0 if all(r["verify"] and r["intact"] and r["recovered"] for r in rows) else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _report(rows: list[dict], seconds: float) -> None:
    print(f"{'mode':<9}{'runs':>6}{'killed':>8}{'verify ok':>11}{'intact':>8}"
          f"{'recovered':>11}")
    for mode in ("build", "evaluate", "export", "all"):
        sel = [r for r in rows if mode in ("all", r["mode"])]
        print(f"{mode:<9}{len(sel):>6}{sum(r['killed'] for r in sel):>8}"
              f"{sum(r['verify'] for r in sel):>11}{sum(r['intact'] for r in sel):>8}"
              f"{sum(r['recovered'] for r in sel):>11}")
    print(f"versions verified after recovery: {sum(r['versions'] for r in rows)}; "
          f"results verified after recovery: {sum(r['results'] for r in rows)}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"wall {seconds:.0f} s; peak RSS of a child {peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
