"""Fixtures of the reliability tests: a synthetic ledger and a pre-imported job runner."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from _scenario import Zygote, cli_env, spec_doc, synthetic_csv, write_dataset


@dataclass
class Bench:
    """A prepared ledger: ``base`` holds version 1 with a result and a bundle."""

    root: Path
    base: Path
    spec: Path
    new_spec: Path
    env: dict[str, str]
    zygote: Zygote

    def fresh_home(self, tag: str) -> Path:
        """Copy the base ledger to a new folder and return it."""
        home = self.root / "homes" / tag
        shutil.copytree(self.base, home, symlinks=True)
        return home


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


@pytest.fixture(scope="package")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """Version 1 of ``synth`` built, evaluated and exported; a zygote to run more jobs."""
    root = tmp_path_factory.mktemp("reliability")
    spec = write_dataset(root, "synth", synthetic_csv(1500, 0))
    new_spec = zip_source_spec(root, "synth", synthetic_csv(1500, 1))
    tmp = root / "tmp"
    tmp.mkdir()
    env = cli_env(root / "mirror")
    env["TMPDIR"] = str(tmp)
    env.pop("PREFECT_API_URL", None)
    zygote = Zygote(env)
    base = root / "base"
    try:
        for mode in ("build", "evaluate", "export"):
            out = zygote.run(mode, base, spec)
            assert out["rc"] == 0, out["stderr"]
        yield Bench(root, base, spec, new_spec, env, zygote)
    finally:
        zygote.close()


@pytest.fixture(autouse=True)
def _no_fault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAIRLEDGER_FAULT", raising=False)
    monkeypatch.setenv("TMPDIR", os.environ.get("TMPDIR", "/tmp"))
