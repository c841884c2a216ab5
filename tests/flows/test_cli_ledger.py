"""`fairledger versions`, `show` and `verify` on a real ledger."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from flows.cli import main
from pipelines.store import Staging


def build(home: Path, seed: int) -> str:
    rng = np.random.default_rng(seed)
    tbl = pa.table({"age": pa.array(rng.integers(18, 90, 500)),
                    "race": pa.array(rng.choice(["a", "b"], 500))})
    with Staging(home, "compas") as stg:
        stg.write_batch("train", tbl.slice(0, 400).to_batches()[0])
        stg.write_batch("test", tbl.slice(400).to_batches()[0])
        stg.add_json("quality.json", {"success": True})
        res = stg.publish(sources=[{"name": "compas.csv", "sha256": "c" * 64}],
                          spec_digest="e" * 64, split_definition={"method": "m", "seed": seed})
    return res.version


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, str, str]:
    home = tmp_path / "ledger"
    return home, build(home, 1), build(home, 2)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_versions_table_and_json(ledger, capsys):
    home, v1, v2 = ledger
    code, out, _ = cli(capsys, "versions", "compas", "--home", str(home))
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["VERSION", "CREATED", "(UTC)", "ROWS"]
    assert lines[1].startswith(v1[:12]) and lines[1].endswith("test=100 train=400")
    assert lines[2].startswith(v2[:12]) and lines[2].endswith("train=400  (latest)")
    code, out, _ = cli(capsys, "versions", "compas", "--json", "--home", str(home))
    data = json.loads(out)
    assert [(d["version"], d["latest"], d["previous"]) for d in data] == [
        (v1, False, None), (v2, True, v1)]


def test_home_from_environment(ledger, capsys, monkeypatch):
    home, _, v2 = ledger
    monkeypatch.setenv("FAIRLEDGER_HOME", str(home))
    code, out, _ = cli(capsys, "show", "compas", "--json")
    assert code == 0 and json.loads(out)["version"] == v2


def test_show_prefix_and_facts(ledger, capsys):
    home, v1, _ = ledger
    code, out, _ = cli(capsys, "show", f"compas@{v1[:8]}", "--home", str(home))
    facts = dict(line.split(None, 1) if not line.startswith("split ") else
                 (line[:14].strip(), line[14:]) for line in out.splitlines())
    assert code == 0
    assert facts["version"] == v1 and facts["previous"] == "-"
    assert facts["split train"].startswith("400 rows, data/train.parquet (")
    assert facts["columns"] == "age:int64, race:string"
    assert facts["source"] == f"compas.csv sha256 {'c' * 12}"


@pytest.mark.parametrize(("args", "line"), [
    (["show", "adult"], "error: {home}: dataset 'adult' not found in the ledger; "
                        "fix: known datasets: compas"),
    (["show", "compas@0000000"], "error: {home}/datasets/compas: version '0000000' of dataset "
                                 "'compas' not found; fix: known versions: {v2} (latest), {v1}"),
    (["versions", "adult"], "error: {home}: dataset 'adult' not found in the ledger; "
                            "fix: known datasets: compas"),
])
def test_not_found_is_one_line_exit_2(ledger, capsys, args, line):
    home, v1, v2 = ledger
    code, out, err = cli(capsys, *args, "--home", str(home))
    assert code == 2 and out == ""
    assert err == line.format(home=home, v1=v1[:12], v2=v2[:12]) + "\n"


def test_verify_clean(ledger, capsys):
    home, _, _ = ledger
    code, out, _ = cli(capsys, "verify", "--home", str(home))
    assert (code, out) == (0, "ledger verified: 2 versions, 8 files\n")
    code, out, _ = cli(capsys, "verify", "--json", "--home", str(home))
    assert code == 0 and json.loads(out) == {"ok": True, "versions": 2, "files": 8,
                                             "problems": []}


def test_verify_names_flipped_byte_and_deleted_file(ledger, capsys):
    home, v1, v2 = ledger
    flipped = home / "datasets" / "compas" / v1 / "data" / "train.parquet"
    os.chmod(flipped, 0o644)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 3] ^= 0x10
    flipped.write_bytes(bytes(data))
    (home / "datasets" / "compas" / v2 / "data" / "test.parquet").unlink()
    code, out, _ = cli(capsys, "verify", "--home", str(home))
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"datasets/compas/{v1}/data/train.parquet: altered (sha256 ")
    assert lines[1] == (f"datasets/compas/{v2}/data/test.parquet: missing "
                        "(listed in the manifest, absent)")
    assert lines[2] == "ledger verification failed: 2 problem(s) in 2 versions, 8 files"
    code, out, _ = cli(capsys, "verify", "--json", "--home", str(home))
    assert code == 1 and [p["problem"] for p in json.loads(out)["problems"]] == [
        "altered", "missing"]


def test_verify_without_ledger(tmp_path, capsys):
    code, out, err = cli(capsys, "verify", "--home", str(tmp_path / "none"))
    assert code == 2
    assert err == (f"error: --home: no ledger at {tmp_path / 'none'}; "
                   "fix: pass --home (or set FAIRLEDGER_HOME to) an existing ledger\n")
