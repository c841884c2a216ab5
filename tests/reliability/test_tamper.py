"""Tamper evidence: verify names any changed byte; a tampered version is not evaluated."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _scenario import cli, leftovers

from flows.cli import main
from pipelines.store import read_refs

TARGETS = [
    ("datasets/synth/{v}/data/train.parquet", "middle"),
    ("datasets/synth/{v}/data/test.parquet", "end"),
    ("datasets/synth/{v}/manifest.json", "middle"),
    ("datasets/synth/{v}/quality.json", "middle"),
    ("datasets/synth/{v}/audit.json", "middle"),
    ("results/synth/{v}/score/result.json", "middle"),
    ("results/synth/{v}/score/predictions.parquet", "middle"),
    ("reports/synth/{v}/policy-bundle.zip", "middle"),
    ("reports/synth/{v}/policy-bundle.zip", "start"),   # local header of the first entry
    ("reports/synth/{v}/policy-bundle.zip", "end"),     # end-of-central-directory record
]


def flip(path: Path, where: str) -> None:
    """Change one byte of ``path`` (at its start, middle or end)."""
    data = bytearray(path.read_bytes())
    i = {"start": 10, "middle": len(data) // 2, "end": len(data) - 3}[where]
    data[i] ^= 0x01
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))


def verify_lines(home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["verify", "--home", str(home)])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("pattern", "where"), TARGETS,
                         ids=[f"{p.rsplit('/', 1)[1]}-{w}" for p, w in TARGETS])
def test_verify_detects_a_changed_byte(bench, capsys, pattern, where):
    home = bench.fresh_home(f"tamper-{pattern.rsplit('/', 1)[1]}-{where}")
    assert verify_lines(home, capsys)[0] == 0
    version = read_refs(home, "synth")["latest"]
    rel = pattern.format(v=version)
    flip(home / rel, where)
    code, lines = verify_lines(home, capsys)
    assert code == 1
    assert any(line.startswith(f"{rel}: ") for line in lines), lines
    assert lines[-1].startswith("ledger verification failed: ")


def test_result_of_a_tampered_version_is_flagged(bench, capsys):
    home = bench.fresh_home("tamper-dataset-under-result")
    version = read_refs(home, "synth")["latest"]
    flip(home / f"datasets/synth/{version}/data/test.parquet", "middle")
    code, lines = verify_lines(home, capsys)
    assert code == 1
    result = f"results/synth/{version}/score/result.json"
    assert any(line.startswith(f"{result}: inconsistent (dataset version of this result no "
                               "longer verifies") for line in lines), lines


def test_cli_verify_process_checks_results_and_bundles(bench):
    """The real command (a fresh process) runs the result and bundle checks too."""
    home = bench.fresh_home("tamper-cli")
    version = read_refs(home, "synth")["latest"]
    flip(home / f"results/synth/{version}/score/result.json", "middle")
    flip(home / f"reports/synth/{version}/policy-bundle.zip", "middle")
    done = cli(["verify", "--home", str(home)], bench.env)
    assert done.returncode == 1
    assert f"results/synth/{version}/score/result.json: " in done.stdout
    assert f"reports/synth/{version}/policy-bundle.zip: " in done.stdout


def test_evaluating_a_tampered_version_fails_cleanly(bench, capsys):
    home = bench.fresh_home("tamper-evaluate")
    version = read_refs(home, "synth")["latest"]
    flip(home / f"datasets/synth/{version}/data/test.parquet", "middle")
    before = sorted(p.relative_to(home).as_posix() for p in (home / "results").rglob("*"))
    code = main(["evaluate", str(bench.spec), "--home", str(home), "--no-reuse"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    assert "test.parquet" in err[0] and "sha256" in err[0]
    after = sorted(p.relative_to(home).as_posix() for p in (home / "results").rglob("*"))
    assert after == before and leftovers(home) == []
