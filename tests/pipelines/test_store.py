"""The ledger: content ids, publish/unchanged, manifests, refs, reads, verify."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.content_hash import ContentHasher
from pipelines.errors import DataError, LockTimeout, NotFoundError, VerificationFailed
from pipelines.ledger_verify import _VERIFIERS, problem
from pipelines.store import (
    Staging,
    atomic_write_bytes,
    canonical_json,
    dataset_lock,
    list_datasets,
    list_versions,
    read_manifest,
    read_refs,
    register_verifier,
    resolve_version,
    sha256_file,
    split_path,
    verify_ledger,
)

SPLIT_DEF = {"method": "test", "seed": 0}


def table(n: int = 1000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "race": pa.array([None if i % 17 == 0 else ["a", "b", "c"][i % 3] for i in range(n)]),
        "score": pa.array(rng.random(n)),
        "flag": pa.array(rng.random(n) > 0.5),
    })


def content_hash(tbl: pa.Table, chunk: int | list[int] = 100) -> str:
    hasher = ContentHasher(tbl.schema)
    if isinstance(chunk, int):
        batches = tbl.to_batches(max_chunksize=chunk)
    else:
        cuts = [0, *sorted(chunk), tbl.num_rows]
        batches = [b for a, z in zip(cuts, cuts[1:], strict=False)
                   for b in tbl.slice(a, z - a).to_batches()]
    for b in batches:
        hasher.update(b)
    return hasher.hexdigest()


def publish(home: Path, tbl: pa.Table, *, name: str = "ds", chunk: int = 250,
            split_def: dict | None = None):
    with Staging(home, name) as stg:
        for b in tbl.to_batches(max_chunksize=chunk):
            stg.write_batch("all", b)
        stg.add_json("quality.json", {"success": True, "nan": float("nan")})
        return stg.publish(sources=[{"name": "src", "sha256": "ab" * 32}], spec_digest="d1",
                           split_definition=split_def or SPLIT_DEF)


def snapshot(home: Path) -> dict[str, tuple[int, int, str]]:
    out = {}
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            p = Path(root) / name
            st_ = p.stat()
            digest = sha256_file(p) if p.is_file() else ""
            out[p.relative_to(home).as_posix()] = (st_.st_mtime_ns, st_.st_size, digest)
    return out


# --- primitives -------------------------------------------------------------------------

@pytest.mark.parametrize(("obj", "expected"), [
    ({"b": 1, "a": [1.5, None, True]}, b'{"a":[1.5,null,true],"b":1}'),
    ({"x": float("nan"), "y": float("inf"), "z": -float("inf")},
     b'{"x":"NaN","y":"Infinity","z":"-Infinity"}'),
    ({"é": (1, 2)}, '{"é":[1,2]}'.encode()),
    (0.1 + 0.2, b"0.30000000000000004"),
])
def test_canonical_json(obj, expected):
    assert canonical_json(obj) == expected


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "refs.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["refs.json"]
    assert sha256_file(target) == hashlib.sha256(b"two").hexdigest()


# --- content hash ---------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=999), max_size=8, unique=True))
def test_content_hash_ignores_batching(cuts):
    tbl = table()
    assert content_hash(tbl, cuts) == content_hash(tbl, 1000)


def _changed(kind: str) -> pa.Table:
    tbl = table()
    if kind == "value":
        ids = tbl["id"].to_numpy().copy()
        ids[500] += 1
        return tbl.set_column(0, "id", pa.array(ids))
    if kind == "order":
        return tbl.take(np.r_[1, 0, np.arange(2, tbl.num_rows)])
    if kind == "name":
        return tbl.rename_columns(["id", "race", "score", "flag2"])
    if kind == "type":
        return tbl.set_column(0, "id", tbl["id"].cast(pa.int32()))
    if kind == "null":
        return tbl.set_column(2, "score", pa.array(
            [None if i == 3 else v for i, v in enumerate(tbl["score"].to_pylist())]))
    if kind == "string":
        return tbl.set_column(1, "race", pa.array(
            ["ab" if i == 1 else v for i, v in enumerate(tbl["race"].to_pylist())]))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["value", "order", "name", "type", "null", "string"])
def test_content_hash_changes_with_content(kind):
    assert content_hash(_changed(kind)) != content_hash(table())


def test_content_hash_ignores_null_slot_bytes_and_nan_payloads():
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    a = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(
        np.array([1, 999, 3], dtype="<i8").tobytes())])
    b = pa.array([1, None, 3], pa.int64())
    nan2 = np.array([0x7FF8000000000001], dtype="<u8").view("<f8")
    c = pa.array(np.r_[1.0, nan2, 3.0])
    d = pa.array([1.0, float("nan"), 3.0])
    assert content_hash(pa.table({"x": a})) == content_hash(pa.table({"x": b}))
    assert content_hash(pa.table({"x": c})) == content_hash(pa.table({"x": d}))


def test_content_hash_same_for_sliced_and_dictionary_strings():
    plain = pa.array(["x", "yy", None, "zzz", "x"] * 50)
    sliced = pa.concat_arrays([pa.array(["pad"]), plain]).slice(1)
    h1 = content_hash(pa.table({"s": plain}), 7)
    assert h1 == content_hash(pa.table({"s": sliced}), 13)
    dict_tbl = pa.table({"s": plain.dictionary_encode()})
    assert ContentHasher(dict_tbl.schema).hexdigest() != ContentHasher(
        pa.table({"s": plain}).schema).hexdigest()  # the type is part of the hash


# --- publish -----------------------------------------------------------------------------

def test_publish_then_unchanged_writes_nothing(tmp_path):
    first = publish(tmp_path, table())
    assert first.status == "published" and first.previous is None
    before = snapshot(tmp_path / "datasets")
    again = publish(tmp_path, table(), chunk=77)  # other batching, same rows
    assert (again.status, again.version) == ("unchanged", first.version)
    assert snapshot(tmp_path / "datasets") == before
    assert os.listdir(tmp_path / "staging" / "ds") == []
    assert verify_ledger(tmp_path) == []


def test_manifest_fields(tmp_path):
    res = publish(tmp_path, table())
    man = read_manifest(tmp_path, "ds")
    assert man["format"] == "fairledger.manifest/1"
    assert (man["name"], man["version"]) == ("ds", res.version)
    assert man["schema"][0] == {"name": "id", "type": "int64", "nullable": True}
    split = man["splits"]["all"]
    path = res.path / split["file"]
    assert split["rows"] == 1000 and split["bytes"] == path.stat().st_size
    assert split["sha256"] == sha256_file(path)
    assert pq.read_table(path).equals(table())
    assert man["files"] == {"quality.json": sha256_file(res.path / "quality.json")}
    assert json.loads((res.path / "quality.json").read_text())["nan"] == "NaN"
    assert man["sources"] == [{"name": "src", "sha256": "ab" * 32}]
    assert (man["spec_digest"], man["split_definition"]) == ("d1", SPLIT_DEF)
    assert man["lineage"] == {"previous": None}
    assert set(man["packages"]) >= {"fairledger", "pyarrow", "python"}
    assert datetime.fromisoformat(man["created_at"]).utcoffset().total_seconds() == 0
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_lineage_refs_and_revert(tmp_path):
    v1 = publish(tmp_path, table(seed=1)).version
    r2 = publish(tmp_path, table(seed=2))
    assert r2.previous == v1
    assert read_refs(tmp_path, "ds") == {"latest": r2.version, "history": [v1, r2.version],
                                         "tags": {}}
    back = publish(tmp_path, table(seed=1))
    assert (back.status, back.version) == ("unchanged", v1)
    assert read_refs(tmp_path, "ds")["latest"] == v1
    assert [v["latest"] for v in list_versions(tmp_path, "ds")] == [True, False]
    assert list_datasets(tmp_path) == ["ds"]


def test_split_definition_changes_the_id(tmp_path):
    a = publish(tmp_path, table()).version
    b = publish(tmp_path, table(), split_def={"method": "test", "seed": 1}).version
    assert a != b


def test_schema_mismatch_between_batches(tmp_path):
    with Staging(tmp_path, "ds") as stg:
        stg.write_batch("all", table().to_batches()[0])
        with pytest.raises(DataError, match=r"^split all: batch schema differs"):
            stg.write_batch("all", table().drop_columns(["flag"]).to_batches()[0])
    assert not any((tmp_path / "staging" / "ds").iterdir())


def test_quarantine_moves_attempt(tmp_path):
    with Staging(tmp_path, "ds") as stg:
        stg.write_batch("all", table().to_batches()[0])
        target = stg.quarantine("gate failed", {"failed": 2})
    assert target.parent == tmp_path / "quarantine" / "ds"
    assert json.loads((target / "reason.json").read_text())["details"] == {"failed": 2}
    assert (target / "data" / "all.parquet").is_file()
    assert list_datasets(tmp_path) == [] and verify_ledger(tmp_path) == []


def test_stale_staging_of_dead_process_is_removed(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)
    folder = tmp_path / "staging" / "ds"
    (folder / f".staging-{dead}-abc123" / "data").mkdir(parents=True)
    live = folder / f".staging-{os.getpid()}-def456"
    live.mkdir()
    dsdir = tmp_path / "datasets" / "ds"
    dsdir.mkdir(parents=True)
    (dsdir / f".refs.json.tmp-{dead}-abc123").write_text("{")
    with Staging(tmp_path, "ds") as stg:
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted([live.name, stg.path.name])
        stg.write_batch("all", table().to_batches()[0])
        res = stg.publish(sources=[], spec_digest="d", split_definition=SPLIT_DEF)
    assert sorted(os.listdir(dsdir)) == sorted([res.version, "refs.json"])


def test_lock_timeout_message(tmp_path):
    with dataset_lock(tmp_path, "ds", 1.0):
        with pytest.raises(LockTimeout) as err:
            with dataset_lock(tmp_path, "ds", 0.05):
                pass
    lock = tmp_path / "locks" / "ds.lock"
    assert err.value.line() == (
        f"{lock}: dataset 'ds' is locked by another build (waited 0.05 s); "
        "fix: wait for the other build to finish, or raise the lock timeout")
    assert err.value.exit_code == 1


# --- reads -------------------------------------------------------------------------------

def test_resolve_version_forms(tmp_path):
    v1 = publish(tmp_path, table(seed=1)).version
    v2 = publish(tmp_path, table(seed=2)).version
    assert resolve_version(tmp_path, "ds") == v2
    assert resolve_version(tmp_path, "ds", "latest") == v2
    assert resolve_version(tmp_path, "ds", v1[:6]) == v1
    assert resolve_version(tmp_path, "ds", v1) == v1


@pytest.mark.parametrize(("version", "problem_text"), [
    ("abc", "not found; give at least 6 hex characters"),
    ("0" * 64, "not found"),
])
def test_resolve_unknown_version(tmp_path, version, problem_text):
    v1 = publish(tmp_path, table()).version
    with pytest.raises(NotFoundError) as err:
        resolve_version(tmp_path, "ds", version)
    assert err.value.line() == (
        f"{tmp_path / 'datasets' / 'ds'}: version {version!r} of dataset 'ds' {problem_text}; "
        f"fix: known versions: {v1[:12]} (latest)")
    assert err.value.exit_code == 2


def test_unknown_dataset_lists_known(tmp_path):
    with pytest.raises(NotFoundError) as err:
        resolve_version(tmp_path, "nope")
    assert err.value.line() == (f"{tmp_path}: dataset 'nope' not found in the ledger; fix: build "
                                "it first with 'fairledger build SPEC', or pass the right --home")
    publish(tmp_path, table())
    with pytest.raises(NotFoundError, match=r"fix: known datasets: ds$"):
        list_versions(tmp_path, "nope")


def test_split_path_verifies(tmp_path):
    res = publish(tmp_path, table())
    path = split_path(tmp_path, "ds", None, "all")
    with pytest.raises(NotFoundError, match=r"split 'test' not found .*fix: known splits: all$"):
        split_path(tmp_path, "ds", None, "test")
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(VerificationFailed) as err:
        split_path(tmp_path, "ds", res.version, "all")
    assert err.value.line().startswith(f"{path}: file does not match its manifest (sha256 ")
    assert split_path(tmp_path, "ds", res.version, "all", verify=False) == path


# --- verify ------------------------------------------------------------------------------

def _tamper(path: Path, how: str) -> None:
    os.chmod(path, 0o644)
    if how == "flip":
        data = bytearray(path.read_bytes())
        data[7] ^= 0x01
        path.write_bytes(bytes(data))
    elif how == "delete":
        path.unlink()


@pytest.mark.parametrize(("target", "how", "kind"), [
    ("data/all.parquet", "flip", "altered"),
    ("data/all.parquet", "delete", "missing"),
    ("quality.json", "flip", "altered"),
    ("quality.json", "delete", "missing"),
    ("manifest.json", "delete", "missing"),
])
def test_verify_names_tampered_file(tmp_path, target, how, kind):
    res = publish(tmp_path, table())
    _tamper(res.path / target, how)
    problems = verify_ledger(tmp_path)
    assert [(p["path"], p["problem"]) for p in problems] == [
        (f"datasets/ds/{res.version}/{target}", kind)]


def test_verify_catches_manifest_edit_extra_file_and_refs(tmp_path):
    res = publish(tmp_path, table())
    mpath = res.path / "manifest.json"
    os.chmod(mpath, 0o644)
    man = json.loads(mpath.read_text())
    man["splits"]["all"]["rows"] = 999
    mpath.write_text(json.dumps(man))
    (res.path / "extra.txt").write_text("x")
    refs = tmp_path / "datasets" / "ds" / "refs.json"
    refs.write_text(json.dumps({"latest": "f" * 64, "history": [res.version, "f" * 64]}))
    got = {(p["path"], p["problem"]) for p in verify_ledger(tmp_path)}
    assert got == {
        (f"datasets/ds/{res.version}/manifest.json", "altered"),
        (f"datasets/ds/{res.version}/extra.txt", "unexpected"),
        (f"datasets/ds/{'f' * 64}", "missing"),
    }


def test_register_verifier_adds_problems(tmp_path):
    publish(tmp_path, table())

    def results_check(home: Path):
        yield problem(home, home / "results" / "x.json", "missing", "result file absent")

    register_verifier(results_check)
    register_verifier(results_check)
    try:
        assert verify_ledger(tmp_path) == [
            {"path": "results/x.json", "problem": "missing", "detail": "result file absent"}]
    finally:
        _VERIFIERS.remove(results_check)
