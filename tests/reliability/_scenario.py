"""Synthetic datasets, specs and ledger snapshots shared by the reliability tests."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
#: Temporary entries a killed run may leave; the next run must remove them.
LEFTOVER_MARKERS = (".staging-", ".tmp", ".old-")


def synthetic_csv(n: int, seed: int) -> bytes:
    """Return CSV bytes: id, x1, x2, group (sensitive), score (0-10), y (label)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    logit = 1.2 * x1 - x2 + (group == "b") * 0.4
    prob = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < prob).astype(int)
    lines = ["id,x1,x2,group,score,y"]
    lines += [f"{i},{a:.6f},{b:.6f},{g},{round(p * 10)},{t}"
              for i, (a, b, g, p, t) in enumerate(zip(x1, x2, group, prob, y, strict=True))]
    return ("\n".join(lines) + "\n").encode()


def spec_doc(name: str, data: bytes, *, file: str = "data.csv",
             models: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """Return a spec document for a CSV shaped like :func:`synthetic_csv`."""
    doc: dict[str, Any] = {
        "name": name, "title": f"synthetic {name}", "license": "CC0", "citation": "none",
        "sources": [{"url": f"https://example.invalid/{file}",
                     "sha256": hashlib.sha256(data).hexdigest(), "format": "csv"}],
        "columns": {"id": "int64", "x1": "float64", "x2": "float64", "group": "category",
                    "score": "int64", "y": "int64"},
        "label": {"column": "y", "positive": [1]},
        "sensitive": [{"column": "group"}],
        "id_column": "id",
        "split": {"kind": "random", "test_fraction": 0.3},
        "models": models if models is not None else [
            {"id": "score", "kind": "score_column", "column": "score", "threshold": 5}],
        "thresholds": {"min_group_size": 5},
    }
    doc.update(extra)
    return doc


def write_dataset(root: Path, name: str, data: bytes, **spec_extra: Any) -> Path:
    """Put ``data`` into the mirror ``root/mirror/<name>/`` and write its spec; return it."""
    doc = spec_doc(name, data, **spec_extra)
    file = doc["sources"][0]["url"].rsplit("/", 1)[1]
    folder = root / "mirror" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_bytes(data)
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    path = specs / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def snapshot(home: Path) -> dict[str, str]:
    """Return ``{relative path: sha256}`` of every non-temporary file under the ledger."""
    out: dict[str, str] = {}
    for base in ("datasets", "results", "reports"):
        root = home / base
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(home)
            if path.is_file() and not any(p.startswith(".") for p in rel.parts):
                out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def leftovers(home: Path) -> list[str]:
    """Return temporary entries (``.staging-*``, ``*.tmp*``, ``.old-*``) under the ledger."""
    found = []
    for path in home.rglob("*"):
        if path.name.startswith(".") and any(m in path.name for m in LEFTOVER_MARKERS):
            found.append(path.relative_to(home).as_posix())
    return sorted(found)


def cli_env(mirror: Path, api_url: str | None = None, fault: str | None = None) -> dict[str, str]:
    """Environment of a ``fairledger`` subprocess."""
    env = {k: v for k, v in os.environ.items() if k not in ("FAIRLEDGER_FAULT",)}
    env["FAIRLEDGER_MIRROR"] = str(mirror)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"
    env["PYTHONPATH"] = str(REPO)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if fault:
        env["FAIRLEDGER_FAULT"] = fault
    return env


def cli(args: list[str], env: dict[str, str], *, cwd: Path | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m flows.cli ARGS`` and return the finished process."""
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def popen(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``python -m flows.cli ARGS`` in the background."""
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Zygote:
    """Client of ``zygote.py``: run jobs in forked, pre-imported children."""

    def __init__(self, env: dict[str, str]) -> None:
        script = Path(__file__).with_name("zygote.py")
        self.proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        if not ready.strip():
            raise RuntimeError("zygote did not start")

    def run(self, mode: str, home: Path, spec: Path, *, fault: str | None = None,
            delay: float | None = None, reuse: bool = True) -> dict[str, Any]:
        """Run one job; return ``{"rc", "killed", "elapsed", "stderr"}``."""
        import json

        assert self.proc.stdin is not None and self.proc.stdout is not None
        job = {"mode": mode, "home": str(home), "spec": str(spec), "fault": fault,
               "delay": delay, "reuse": reuse}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def parallel(self, jobs: list[tuple[str, Path, Path]]) -> list[dict[str, Any]]:
        """Run ``(mode, home, spec)`` jobs as concurrent processes; return their outcomes."""
        import json

        assert self.proc.stdin is not None and self.proc.stdout is not None
        line = {"parallel": [{"mode": m, "home": str(h), "spec": str(s), "fault": None,
                              "delay": None, "reuse": False} for m, h, s in jobs]}
        self.proc.stdin.write(json.dumps(line) + "\n")
        self.proc.stdin.flush()
        return list(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        """Stop the zygote (EOF on its stdin), by its own id."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def zip_source_spec(root: Path, name: str, data: bytes) -> Path:
    """Write a spec whose source is a member of a local zip (goes through the cache)."""
    archive = root / "archives" / f"{name}.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner/fresh.csv", data)
    archive.write_bytes(buf.getvalue())
    doc = spec_doc(name, data)
    doc["sources"] = [{"url": archive.as_uri(), "sha256": hashlib.sha256(data).hexdigest(),
                       "format": "csv", "read": {"member": "inner/fresh.csv"}}]
    path = root / "zipspecs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
