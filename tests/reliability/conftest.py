"""Fixtures of the reliability tests: a synthetic ledger and a pre-imported job runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _scenario import Zygote, cli_env, synthetic_csv, write_dataset, zip_source_spec


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
