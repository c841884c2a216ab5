"""result.json's file digest: any changed byte is caught, older results still verify."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from _eval_helpers import publish_table, synthetic_table, write_spec

from flows.evaluate import evaluate_model
from pipelines.ledger_io import pretty_json
from pipelines.ledger_verify import verify_ledger
from pipelines.results import INTEGRITY_METHOD, content_digest, result_bytes
from pipelines.spec import load_spec

MODELS = [{"id": "score", "kind": "score_column", "column": "score", "threshold": 5}]


@pytest.fixture
def result(tmp_path: Path):
    home = tmp_path / "ledger"
    publish_table(home, "synth", {"train": synthetic_table(300, 1),
                                  "test": synthetic_table(200, 2, id_start=5000)})
    spec = load_spec(write_spec(tmp_path, models=MODELS, thresholds={"min_group_size": 5}))
    out = evaluate_model(spec, spec.models[0], home=home, spec_dir=tmp_path, n_boot=20)
    return home, out


def _problems(home: Path, path: Path) -> list[tuple[str, str]]:
    rel = path.relative_to(home).as_posix()
    return [(p["path"], p["problem"]) for p in verify_ledger(home) if p["path"] == rel]


def test_file_digest_is_the_sha256_of_the_file_with_itself_zeroed(result) -> None:
    home, out = result
    raw = out.result_path.read_bytes()
    doc = json.loads(raw)
    digest = doc["integrity"]["file_sha256"]
    assert raw.count(digest.encode()) == 1
    assert hashlib.sha256(raw.replace(digest.encode(), b"0" * 64)).hexdigest() == digest
    assert doc["integrity"]["content_sha256"] == content_digest(doc)
    assert doc["integrity_method"] == INTEGRITY_METHOD
    assert out.result == doc  # the document in memory is the one on disk
    blank = {**doc, "integrity": {**doc["integrity"], "file_sha256": "0" * 64}}
    assert raw.replace(digest.encode(), b"0" * 64) == pretty_json(blank)  # readable, indented
    assert verify_ledger(home) == []


def _edits(raw: bytes) -> dict[str, bytes]:
    """Changes that keep valid JSON, whitespace included."""
    text = raw.decode()
    n_line = re.search(r'\n( +)"n": (\d+),', text)
    assert n_line is not None
    value = int(n_line.group(2))
    digest = json.loads(raw)["integrity"]["file_sha256"]
    other = ("1" if digest[0] != "1" else "2") + digest[1:]
    return {
        "trailing space": text.replace(",\n", ", \n", 1).encode(),
        "extra indent": text.replace('\n  "dataset"', '\n   "dataset"', 1).encode(),
        "no final newline": raw[:-1],
        "crlf": raw.replace(b"\n", b"\r\n"),
        "tab": text.replace("\n  ", "\n\t", 1).encode(),
        "value": text.replace(n_line.group(0), n_line.group(0).replace(
            str(value), str(value + 1)), 1).encode(),
        "compact": json.dumps(json.loads(raw), sort_keys=True).encode(),
        "unsorted": json.dumps(dict(reversed(list(json.loads(raw).items()))), indent=2,
                               ensure_ascii=False).encode() + b"\n",
        "other digest": raw.replace(digest.encode(), other.encode()),
        "no file digest": re.sub(rb',\n    "file_sha256": "[0-9a-f]{64}"', b"", raw),
        "no file digest nor method": re.sub(
            rb'\n  "integrity_method": "[^"]*",', b"",
            re.sub(rb',\n    "file_sha256": "[0-9a-f]{64}"', b"", raw)),
    }


@pytest.mark.parametrize("edit", ["trailing space", "extra indent", "no final newline", "crlf",
                                  "tab", "value", "compact", "unsorted", "other digest",
                                  "no file digest", "no file digest nor method"])
def test_valid_json_edits_are_caught(result, edit) -> None:
    home, out = result
    path = out.result_path
    changed = _edits(path.read_bytes())[edit]
    assert changed != path.read_bytes()
    json.loads(changed)  # still valid JSON
    path.write_bytes(changed)
    assert _problems(home, path) == [(path.relative_to(home).as_posix(), "altered")]


def test_every_sampled_byte_flip_is_caught(result) -> None:
    home, out = result
    path = out.result_path
    raw = path.read_bytes()
    rel = path.relative_to(home).as_posix()
    for offset in range(0, len(raw), max(1, len(raw) // 150)):
        changed = bytearray(raw)
        changed[offset] ^= 0x01
        path.write_bytes(bytes(changed))
        found = _problems(home, path)
        assert found and found[0][0] == rel and found[0][1] in ("altered", "unreadable"), offset
    path.write_bytes(raw)
    assert verify_ledger(home) == []


def _legacy(doc: dict) -> bytes:
    """A result as written before file digests: content digest only."""
    old = {k: v for k, v in doc.items() if k not in ("integrity", "integrity_method")}
    old["integrity"] = {"content_sha256": content_digest(old)}
    return pretty_json(old)


def test_results_written_before_file_digests_still_verify(result) -> None:
    home, out = result
    path = out.result_path
    legacy = _legacy(json.loads(path.read_bytes()))
    path.write_bytes(legacy)
    assert verify_ledger(home) == []
    path.write_bytes(legacy.replace(b",\n", b", \n", 1))
    assert _problems(home, path) == [(path.relative_to(home).as_posix(), "altered")]


def test_result_bytes_refuses_a_second_file_digest_key() -> None:
    from pipelines.errors import LedgerError

    with pytest.raises(LedgerError) as info:
        result_bytes({"groups": [{"file_sha256": "x"}], "integrity": {"content_sha256": "y"}})
    assert str(info.value) == ("result.json: result document holds a 'file_sha256' key outside "
                               "'integrity'; fix: report this as a bug: result sections must "
                               "not use that key")
