"""Hostile and malformed input: one clean error line (exit 2) or a valid result, never more.

Spec text and CSV/Parquet sources are fuzzed with hypothesis through the real
command (``flows.cli.main``): every example ends in exit 0 with a verifying
ledger, or in exactly one ``error: ...`` line on stderr (exit 2 for bad input,
1 for a failed quality gate) with the published ledger unchanged and no
temporary entry left; never a traceback or a partial version.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from _scenario import leftovers, snapshot, spec_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.cli import main
from pipelines.store import verify_ledger

FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _one_error_line(err: str, code: int, allowed: tuple[int, ...] = (2,)) -> None:
    lines = err.strip().splitlines()
    assert code in allowed, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


def _run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


# --- spec parsing -------------------------------------------------------------------------

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         st.text(max_size=20))
yaml_docs = st.recursive(yaml_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(
    st.sampled_from(["name", "sources", "label", "sensitive", "models", "columns", "split",
                     "thresholds", "url", "sha256", "x", "id", "kind"]), c, max_size=5),
    max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(
    lambda b: b.decode("latin-1")), yaml_docs.map(lambda d: yaml.safe_dump(d))))
def test_fuzzed_spec_is_one_clean_error(tmp_path, capsys, text):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    code, _out, err = _run(capsys, ["build", str(path), "--home", str(tmp_path / "home")])
    _one_error_line(err, code)
    assert not (tmp_path / "home" / "datasets").exists()


@pytest.mark.parametrize("field", ["name", "model_id"])
def test_path_traversal_in_names_is_refused(tmp_path, capsys, field):
    doc = spec_doc("synth", b"id\n")
    if field == "name":
        doc["name"] = "../../etc/x"
    else:
        doc["models"][0]["id"] = "../../etc/x"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    code, _out, err = _run(capsys, ["build", str(path), "--home", str(tmp_path / "home")])
    _one_error_line(err, code)
    assert "../../etc/x" in err
    assert not (tmp_path / "etc").exists() and not (tmp_path / "home").exists()


@pytest.mark.parametrize("args", [
    ["export", "synth", "--out", "../../etc/x"],
    ["report", "synth", "--out", "../../etc/x"],
    ["show", "../../etc/x"],
    ["versions", "../../etc/x"],
])
def test_path_traversal_in_arguments_is_refused(tmp_path, capsys, args):
    code, _out, err = _run(capsys, [*args, "--home", str(tmp_path / "home")])
    _one_error_line(err, code)


def test_yaml_python_tags_are_a_spec_error(tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n",
                    encoding="utf-8")
    code, _out, err = _run(capsys, ["build", str(path), "--home", str(tmp_path / "home")])
    _one_error_line(err, code)
    assert "evil.yaml" in err and not marker.exists()


class _Boom:
    def __reduce__(self):  # executed by an unsafe unpickler
        return (os.system, (f"touch {os.environ['PWNED_MARKER']}",))


@pytest.mark.parametrize("kind", ["torch_state_dict", "torchscript"])
def test_model_files_are_loaded_safely(bench, tmp_path, capsys, monkeypatch, kind):
    """A pickle bomb as weights is refused (weights_only); TorchScript needs its sha256."""
    import torch

    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED_MARKER", str(marker))
    weights = tmp_path / "model.pt"
    torch.save({"weight": _Boom()}, weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if kind == "torch_state_dict":
        model = {"id": "evil", "kind": kind, "class": "torch.nn:Linear",
                 "init": {"in_features": 2, "out_features": 1}, "weights": "model.pt",
                 "sha256": digest, "features": ["x1", "x2"]}
    else:  # the right file, the wrong digest
        model = {"id": "evil", "kind": kind, "path": "model.pt", "sha256": "0" * 64,
                 "features": ["x1", "x2"]}
    doc = yaml.safe_load(bench.spec.read_text())
    doc["models"] = [model]
    spec = tmp_path / "synth.yaml"
    spec.write_text(yaml.safe_dump(doc), encoding="utf-8")
    home = bench.fresh_home(f"model-{kind}")
    code, _out, err = _run(capsys, ["evaluate", str(spec), "--home", str(home)])
    _one_error_line(err, code)
    assert "models.evil" in err and not marker.exists()


# --- source ingest ------------------------------------------------------------------------

group_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0,
                      max_size=12)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["NaN", "nan", "inf", "-inf", "Infinity", "1e999", ""]))


def _csv_text(rows: list[tuple[str, object]], header: str) -> str:
    def q(s: object) -> str:
        text = str(s)
        return '"' + text.replace('"', '""') + '"'
    body = [f"{i},{q(x)},0.5,{q(g)},{i % 11},{i % 2}" for i, (g, x) in enumerate(rows)]
    return "\n".join([header, *body]) + "\n"


csv_sources = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda rows, cut: _csv_text(rows, "id,x1,x2,group,score,y").encode()[:cut],
              st.lists(st.tuples(group_names, numbers), min_size=1, max_size=40),
              st.integers(1, 4000)),
    st.builds(lambda rows: _csv_text(rows, "id,x1,x2,group,score,y").encode("utf-16"),
              st.lists(st.tuples(group_names, numbers), min_size=1, max_size=10)),
    st.builds(lambda rows: _csv_text(rows, "id,x1,x1,group,score,y").encode(),
              st.lists(st.tuples(group_names, numbers), min_size=1, max_size=10)),
    st.builds(lambda n: ("id,x1,x2,group,score,y\n" + "1,2,3,a,4,1" + ",9" * n + "\n").encode(),
              st.integers(1, 5000)),
    st.builds(lambda n: _csv_text([(f"g{i}", i) for i in range(n)],
                                  "id,x1,x2,group,score,y").encode(), st.integers(200, 3000)),
)


def _parquet_bytes(groups: list[str], xs: list[float], dup: bool) -> bytes:
    n = len(groups)
    arrays = [pa.array(range(n), pa.int64()), pa.array(xs, pa.float64()),
              pa.array([0.5] * n), pa.array(groups), pa.array([i % 11 for i in range(n)]),
              pa.array([i % 2 for i in range(n)])]
    names = ["id", "x1", "x1" if dup else "x2", "group", "score", "y"]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=names), buf)
    return buf.getvalue()


parquet_sources = st.integers(1, 30).flatmap(lambda n: st.builds(
    _parquet_bytes, st.lists(group_names, min_size=n, max_size=n),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n),
    st.booleans())).flatmap(lambda b: st.sampled_from([b, b[: len(b) // 2], b[:-8]]))


def _ingest_case(root: Path, data: bytes, fmt: str) -> tuple[Path, Path]:
    file = f"data.{fmt}"
    doc = spec_doc("fuzz", data, file=file)
    doc["sources"][0]["format"] = fmt
    (root / "mirror" / "fuzz").mkdir(parents=True, exist_ok=True)
    (root / "mirror" / "fuzz" / file).write_bytes(data)
    spec = root / "fuzz.yaml"
    spec.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return spec, root / "home"


def _check_ingest(root: Path, capsys: pytest.CaptureFixture[str], data: bytes, fmt: str,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    spec, home = _ingest_case(root, data, fmt)
    monkeypatch.setenv("FAIRLEDGER_MIRROR", str(root / "mirror"))
    code, _out, err = _run(capsys, ["build", str(spec), "--home", str(home)])
    if code != 0:
        _one_error_line(err, code, allowed=(1, 2))
        assert not any(k.startswith("datasets/") for k in snapshot(home)), snapshot(home)
    assert verify_ledger(home) == [] if home.is_dir() else True
    assert leftovers(home) == [] if home.is_dir() else True


@pytest.mark.usefixtures("prefect_harness")
@FUZZ
@given(data=csv_sources)
def test_fuzzed_csv_source(tmp_path, capsys, monkeypatch, data):
    _check_ingest(tmp_path / "case", capsys, data, "csv", monkeypatch)


@pytest.mark.usefixtures("prefect_harness")
@FUZZ
@given(data=parquet_sources)
def test_fuzzed_parquet_source(tmp_path, capsys, monkeypatch, data):
    _check_ingest(tmp_path / "case", capsys, data, "parquet", monkeypatch)
