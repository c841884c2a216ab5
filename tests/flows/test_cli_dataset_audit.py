"""``fairledger audit-dataset`` and ``fairledger diff`` end to end on real COMPAS versions.

Two versions are built with ``fairledger build`` from two different source
files: ProPublica's file, and a derived file (written here) that drops every
second African-American row. The diff must show exactly that share change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from flows.cli import main

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("specs")
    shutil.copytree(SPECS / "references", folder / "references")
    original = (SPECS / "compas.yaml").read_text()
    src = shared_data / "compas" / "compas-scores-two-years.csv"
    table = pacsv.read_csv(src)
    aa = pc.equal(table["race"], "African-American")
    rank = pc.cumulative_sum(pc.cast(aa, pa.int64()))
    keep = pc.or_(pc.invert(aa), pc.equal(pc.bit_wise_and(rank, 1), 0))
    derived = folder / "compas-fewer-aa.csv"
    with derived.open("wb") as fh:  # same bytes layout as the original: header + rows
        lines = src.read_bytes().splitlines(keepends=True)
        fh.write(lines[0])
        for line, k in zip(lines[1:], keep.to_pylist(), strict=True):
            if k:
                fh.write(line)
    sha = hashlib.sha256(derived.read_bytes()).hexdigest()
    v1 = folder / "compas.yaml"
    v1.write_text(original)
    v2 = folder / "compas_v2.yaml"
    text = original.replace(
        "https://raw.githubusercontent.com/propublica/compas-analysis/master/"
        "compas-scores-two-years.csv", derived.as_uri())
    text = text.replace("c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d", sha)
    # the derived file is smaller: widen the quality gate's row count accordingly
    text = text.replace("row_count: {min: 7000, max: 7500}", "row_count: {min: 5000, max: 7500}")
    v2.write_text(text)
    return {"v1": v1, "v2": v2, "kept": int(pc.sum(pc.cast(keep, pa.int64())).as_py())}


@pytest.fixture(scope="module")
def built(specs: dict, tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    import os

    os.environ["FAIRLEDGER_MIRROR"] = str(shared_data)
    home = tmp_path_factory.mktemp("ledger")
    versions = {}
    for key in ("v1", "v2"):
        code = main(["build", str(specs[key]), "--home", str(home)])
        assert code == 0
        versions[key] = json.loads((home / "datasets" / "compas" / "refs.json").read_text()
                                   )["latest"]
    return {"home": home, **versions}


def test_audit_dataset_json(built: dict, specs: dict, capsys: pytest.CaptureFixture) -> None:
    code = main(["audit-dataset", "compas", "--version", built["v1"], "--json",
                 "--home", str(built["home"]), "--spec", str(specs["v1"])])
    audit = json.loads(capsys.readouterr().out)
    assert code == 0 and audit["rows"] == 7214
    race = {g["group"]: g["n"] for g in audit["representativeness"]["race"]["groups"]}
    assert race["African-American"] == 3696


def test_audit_dataset_text(built: dict, specs: dict, capsys: pytest.CaptureFixture) -> None:
    assert main(["audit-dataset", "compas", "--home", str(built["home"]),
                 "--spec", str(specs["v2"])]) == 0
    out = capsys.readouterr().out
    assert "reference: Broward County" in out and "African-American" in out


def test_diff_shows_the_expected_share_change(built: dict, specs: dict,
                                             capsys: pytest.CaptureFixture) -> None:
    code = main(["diff", "compas", built["v1"], built["v2"], "--json",
                 "--home", str(built["home"]), "--spec", str(specs["v1"])])
    diff = json.loads(capsys.readouterr().out)
    assert code == 0
    assert diff["rows"]["total"] == {"a": 7214, "b": specs["kept"],
                                     "change": specs["kept"] - 7214}
    rows = {r["group"]: r for r in diff["features"]["race"]["groups"]}
    aa_b = 3696 - 3696 // 2
    assert (rows["African-American"]["n_a"], rows["African-American"]["n_b"]) == (3696, aa_b)
    assert rows["African-American"]["share_change"] == pytest.approx(
        aa_b / specs["kept"] - 3696 / 7214, abs=1e-12)
    assert rows["Caucasian"]["n_b"] == rows["Caucasian"]["n_a"] == 2454
    assert diff["schema"] == {"added": [], "removed": [], "retyped": []}
    shift = [f for f in diff["findings"] if f["code"] == "representation_shift"
             and f["feature"] == "race"]
    assert shift[0]["severity"] == "warn" and shift[0]["group"] == "African-American"


def test_unknown_version_is_one_line_exit_2(built: dict, capsys: pytest.CaptureFixture) -> None:
    code = main(["diff", "compas", "ffffff", "latest", "--home", str(built["home"])])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: ") and "version 'ffffff' of dataset 'compas' not found" in err
