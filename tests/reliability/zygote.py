"""A pre-imported process that forks one child per job, for fast kill campaigns.

Importing Great Expectations, Prefect, torch and WeasyPrint costs ~20 s on a
small machine; a build, evaluation or export of a small dataset then costs
about a second. This process imports everything once, then for each JSON
line on stdin ``{"mode", "home", "spec", "fault", "delay", "reuse"}`` forks a
child that sets ``FAIRLEDGER_FAULT`` (the child SIGKILLs itself at that named
point) and runs :mod:`worker`; with ``delay`` the parent SIGKILLs the child
after that many seconds. It answers one JSON line per job:
``{"rc", "killed", "elapsed", "stderr"}`` (``rc`` is ``-9`` for a kill).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import worker  # noqa: E402


def _preload() -> None:
    import great_expectations  # noqa: F401
    import torch  # noqa: F401
    import weasyprint  # noqa: F401

    import audits.export  # noqa: F401
    import flows.build  # noqa: F401
    import flows.evaluate  # noqa: F401
    import flows.publish  # noqa: F401
    import pipelines.quality  # noqa: F401
    import pipelines.results  # noqa: F401


def _child(job: dict, err_path: str) -> None:
    fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if job.get("fault"):
        os.environ["FAIRLEDGER_FAULT"] = job["fault"]
    else:
        os.environ.pop("FAIRLEDGER_FAULT", None)
    args = [job["mode"], job["home"], job["spec"]] + ([] if job.get("reuse", True)
                                                       else ["--no-reuse"])
    code = 0
    try:
        worker.main(args)
    except BaseException:  # noqa: BLE001  # reported to the parent via stderr and rc
        traceback.print_exc()
        code = 3
    sys.stderr.flush()
    os._exit(code)


def _run(job: dict, err_path: str) -> dict:
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(job, err_path)
    delay = job.get("delay")
    killed = None
    if delay is not None:
        deadline = start + float(delay)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                killed = "timer"
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.005)
    else:
        _, status = os.waitpid(pid, 0)
    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    if rc == -signal.SIGKILL and killed is None:
        killed = "fault"
    err = Path(err_path).read_text(errors="replace") if os.path.exists(err_path) else ""
    return {"rc": rc, "killed": killed, "elapsed": time.monotonic() - start,
            "stderr": err[-3000:]}


def _parallel(jobs: list[dict], err_path: str) -> list[dict]:
    """Fork one child per job at once; wait for all; return their outcomes in order."""
    started = []
    for i, job in enumerate(jobs):
        err = f"{err_path}.{i}"
        pid = os.fork()
        if pid == 0:
            _child(job, err)
        started.append((pid, err, time.monotonic()))
    out = []
    for pid, err, start in started:
        _, status = os.waitpid(pid, 0)
        rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        text = Path(err).read_text(errors="replace") if os.path.exists(err) else ""
        out.append({"rc": rc, "killed": None, "elapsed": time.monotonic() - start,
                    "stderr": text[-3000:]})
    return out


def main() -> int:
    """Serve jobs from stdin until EOF."""
    _preload()
    err_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"zygote-{os.getpid()}.err")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            job = json.loads(line)
            done = _parallel(job["parallel"], err_path) if "parallel" in job else _run(
                job, err_path)
            print(json.dumps(done), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
