from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from flows.cli import main


@pytest.fixture
def predictions(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n),
                       "race": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n),
                       "one": "x", "score": rng.random(n)})
    df.to_csv(tmp_path / "pred.csv", index=False)
    df.to_parquet(tmp_path / "pred.parquet")
    return tmp_path


@pytest.mark.parametrize("name", ["pred.csv", "pred.parquet"])
def test_json_output_is_the_result(predictions, capsys, name) -> None:
    code = main(["audit", str(predictions / name), "--label", "y", "--prediction", "p",
                 "--sensitive", "race,sex", "--intersect", "race,sex", "--n-boot", "50",
                 "--seed", "3", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bootstrap"]["n_boot"] == 50 and data["bootstrap"]["seed"] == 3
    assert {g["feature"] for g in data["groups"]} == {"race", "sex", "race&sex"}
    assert data["metrics"]["n"] == 400


def test_csv_and_parquet_agree(predictions, capsys) -> None:
    outs = []
    for name in ("pred.csv", "pred.parquet"):
        main(["audit", str(predictions / name), "--label", "y", "--prediction", "p",
              "--sensitive", "race", "--n-boot", "20", "--json"])
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]


def test_table_output(predictions, capsys) -> None:
    code = main(["audit", str(predictions / "pred.csv"), "--label", "y", "--prediction", "p",
                 "--sensitive", "race", "--n-boot", "20"])
    out = capsys.readouterr().out
    assert code == 0
    assert "demographic_parity_ratio" in out and "selection_rate" in out
    assert "bootstrap: n_boot=20 seed=0 (multinomial over confusion cells)" in out


@pytest.mark.parametrize(("args", "line"), [
    (["pred.txt", "--label", "y", "--prediction", "p", "--sensitive", "race"],
     "{d}/pred.txt: 'pred.txt' is not a CSV or Parquet file; fix: pass a file ending in .csv, "
     ".parquet or .pq"),
    (["pred.csv", "--label", "nope", "--prediction", "p", "--sensitive", "race"],
     "{d}/pred.csv: column 'nope' not found; fix: use one of the columns: y, p, race, sex, one, "
     "score"),
    (["pred.parquet", "--label", "y", "--prediction", "score", "--sensitive", "race"],
     "score: column 'score' is not binary: found values"),
    (["pred.csv", "--label", "y", "--prediction", "p", "--sensitive", "one"],
     "one: sensitive column 'one' has a single group ('x'), so there is nothing to compare; "
     "fix: audit with a sensitive column that has two or more groups"),
    (["pred.csv", "--label", "race", "--prediction", "p", "--sensitive", "sex"],
     "race: column 'race' is not binary: found values 'a', 'b', 'c'; fix: pass a column with "
     "two values (0/1 or booleans), or audit it as multiclass"),
])
def test_bad_input_is_one_line_and_exit_2(predictions, capsys, args, line) -> None:
    (predictions / "pred.txt").write_text("y,p\n")
    args = [str(predictions / args[0]), *args[1:]]
    assert main(["audit", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: " + line.format(d=predictions))


def test_all_null_label(tmp_path, capsys) -> None:
    pd.DataFrame({"y": [None, None], "p": [1, 0], "g": ["a", "b"]}).to_csv(tmp_path / "n.csv",
                                                                           index=False)
    assert main(["audit", str(tmp_path / "n.csv"), "--label", "y", "--prediction", "p",
                 "--sensitive", "g"]) == 2
    assert capsys.readouterr().err == ("error: y: column 'y' is all null; fix: pass the column "
                                       "that holds the values\n")
