"""Cold vs warm ``fairledger run`` of one spec, in one script.

A cold run starts from an empty ledger (resolve, ingest, gate, audit,
publish, evaluate every model, report). A warm run repeats the same command
on the same ledger: the build is unchanged and every evaluation is reused.
Each run is its own ``fairledger run`` process, timed wall-clock, with its
peak RSS from ``os.wait4``. By default both runs use one real ``prefect
server`` started here (as a scheduled or interactive user would have);
``--ephemeral`` lets each run start Prefect's temporary server instead, and
``PREFECT_API_URL`` in the environment is used as is.

Usage: ``.venv/bin/python benchmarks/rerun.py [SPEC] [--warm-runs N] [--ephemeral]``
Goal: warm at least 5x faster than cold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flows.local_server import local_server  # noqa: E402


def timed_run(spec: Path, home: Path, env: dict[str, str]) -> tuple[float, float, dict]:
    """Run ``fairledger run SPEC --json`` once; return seconds, peak RSS (MB) and its JSON."""
    command = [sys.executable, "-m", "flows.cli", "run", str(spec), "--home", str(home), "--json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"fairledger run failed (exit {proc.returncode}): "
                     f"{err.read().decode(errors='replace')[-2000:]}")
        return elapsed, usage.ru_maxrss / 1024, json.loads(out.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(REPO / "datasets_spec" / "compas.yaml"))
    parser.add_argument("--warm-runs", type=int, default=2)
    parser.add_argument("--ephemeral", action="store_true",
                        help="no shared server: each run starts Prefect's temporary server")
    args = parser.parse_args()
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.setdefault("FAIRLEDGER_MIRROR", str((REPO / ".." / "shared" / "data").resolve()))
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rerun-")))
        if args.ephemeral:
            env.pop("PREFECT_API_URL", None)
            mode = "ephemeral Prefect server per run"
        elif "PREFECT_API_URL" not in env:
            server = stack.enter_context(local_server(work / "prefect"))
            env["PREFECT_API_URL"] = server.url
            mode = f"one prefect server at {server.url}"
        else:
            mode = f"PREFECT_API_URL={env['PREFECT_API_URL']}"
        env["PREFECT_HOME"] = str(work / "client_home")
        home = work / "ledger"
        cold = timed_run(Path(args.spec), home, env)
        warms = [timed_run(Path(args.spec), home, env) for _ in range(args.warm_runs)]
    report(Path(args.spec).name, mode, cold, warms)


def report(spec: str, mode: str, cold: tuple, warms: list[tuple]) -> None:
    """Print cold and warm figures side by side, with the ratio."""
    best = min(warms, key=lambda w: w[0])
    print(f"fairledger run {spec}  ({mode})")
    print(f"{'run':<8}{'seconds':>10}{'peak RSS MB':>14}  build      evaluations")
    for label, (secs, rss, out) in [("cold", cold)] + [(f"warm{i + 1}", w)
                                                      for i, w in enumerate(warms)]:
        reused = out.get("reused", {})
        evals = f"{sum(reused.values())}/{len(reused)} reused"
        print(f"{label:<8}{secs:>10.2f}{rss:>14.0f}  {out.get('status', '?'):<10} {evals}")
    ratio = cold[0] / best[0]
    goal = "meets" if ratio >= 5 else "misses"
    print(f"cold / best warm = {ratio:.1f}x  ({goal} the 5x goal)")


if __name__ == "__main__":
    main()
