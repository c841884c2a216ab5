"""Sources: mirror, cache, download (local http.server), sha256 always verified; Hub offline."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _ingest_helpers import sha

from pipelines.errors import SourceError
from pipelines.ingest import iter_batches
from pipelines.sources import cache_dir, mirror_folders, resolve_source
from pipelines.spec import DatasetSpec, parse_spec

DATA = b"y,g\n1,a\n0,b\n"


class _Server:
    """A local HTTP server on 127.0.0.1 serving ``files``; fails the first ``flaky`` GETs."""

    def __init__(self, files: dict[str, bytes], flaky: int = 0) -> None:
        self.files, self.flaky, self.hits = files, flaky, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits += 1
                if outer.flaky > 0:
                    outer.flaky -= 1
                    self.send_error(503)
                    return
                body = outer.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server({"d.csv": DATA})
    yield srv
    srv.close()


def _spec(url: str, digest: str, **read: object) -> DatasetSpec:
    return parse_spec({
        "name": "toy", "title": "Toy", "license": "CC0", "citation": "none",
        "sources": [{"url": url, "sha256": digest, "read": read}],
        "label": {"column": "y", "positive": [1]}, "sensitive": [{"column": "g"}],
        "split": {"kind": "all"},
    })


def test_download_then_cache(tmp_path: Path, server: _Server) -> None:
    spec = _spec(server.url("d.csv"), sha(DATA))
    first = resolve_source(spec, spec.sources[0], home=tmp_path, mirrors=[], progress=True)
    assert first.origin == "download"
    assert first.path == cache_dir(tmp_path) / sha(DATA)
    assert first.path.read_bytes() == DATA
    assert first.fingerprint == {
        "kind": "file", "url": server.url("d.csv"), "file": "d.csv", "sha256": sha(DATA),
        "origin": "download", "bytes": len(DATA), "format": "csv"}
    second = resolve_source(spec, spec.sources[0], home=tmp_path, mirrors=[])
    assert (second.origin, server.hits) == ("cache", 1)


def test_download_retries_after_server_errors(tmp_path: Path, server: _Server) -> None:
    server.flaky = 2
    spec = _spec(server.url("d.csv"), sha(DATA))
    resolved = resolve_source(spec, spec.sources[0], home=tmp_path, mirrors=[], retries=2)
    assert resolved.origin == "download"
    assert server.hits == 3


def test_download_gives_up_with_one_line(tmp_path: Path, server: _Server) -> None:
    spec = _spec(server.url("missing.csv"), sha(DATA))
    with pytest.raises(SourceError) as err:
        resolve_source(spec, spec.sources[0], home=tmp_path, mirrors=[], retries=3)
    assert str(err.value) == (
        f"{server.url('missing.csv')}: cannot download the source (HTTP 404 Not Found) after 1 "
        "attempt; fix: check the url and the network, or put the file in a FAIRLEDGER_MIRROR folder"
    )
    assert server.hits == 1  # a 404 is not retried


def test_download_mismatch_names_both_digests_and_writes_nothing(
    tmp_path: Path, server: _Server
) -> None:
    wrong = "0" * 64
    spec = _spec(server.url("d.csv"), wrong)
    with pytest.raises(SourceError) as err:
        resolve_source(spec, spec.sources[0], home=tmp_path, mirrors=[])
    assert str(err.value) == (
        f"{server.url('d.csv')}: sha256 mismatch for d.csv: expected {wrong}, got {sha(DATA)} "
        "(the download was discarded); fix: if the publisher changed the file on purpose, "
        "review it and update the source's sha256 in the spec; otherwise replace the corrupt copy"
    )
    assert list(cache_dir(tmp_path).iterdir()) == []


def test_mirror_first_and_verified(tmp_path: Path, server: _Server) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "d.csv").write_bytes(DATA)
    spec = _spec(server.url("d.csv"), sha(DATA))
    resolved = resolve_source(spec, spec.sources[0], home=tmp_path / "h",
                              mirrors=[tmp_path / "absent", mirror])
    assert (resolved.origin, resolved.path, server.hits) == (
        "mirror", mirror / "toy" / "d.csv", 0)
    assert not (tmp_path / "h").exists()
    (mirror / "toy" / "d.csv").write_bytes(DATA + b"1,c\n")
    with pytest.raises(SourceError, match=f"expected {sha(DATA)}, got "):
        resolve_source(spec, spec.sources[0], home=tmp_path / "h", mirrors=[mirror])


def test_mirror_folders_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAIRLEDGER_MIRROR", f"{tmp_path / 'a'}:{tmp_path / 'b'}:")
    assert mirror_folders() == [tmp_path / "a", tmp_path / "b"]
    assert mirror_folders([tmp_path]) == [tmp_path]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


@pytest.mark.parametrize("inner", ["d.csv", "dataset/d.csv"])
def test_zip_member_is_pinned_and_cached(tmp_path: Path, inner: str) -> None:
    srv = _Server({"a.zip": _zip({inner: DATA, "other.csv": b"x\n"})})
    try:
        spec = _spec(srv.url("a.zip"), sha(DATA), member="d.csv")
        resolved = resolve_source(spec, spec.sources[0], home=tmp_path, mirrors=[])
        assert resolved.path is not None and resolved.path.read_bytes() == DATA
        assert sorted(p.name for p in cache_dir(tmp_path).iterdir()) == [sha(DATA)]
        rows = sum(b.num_rows for b in iter_batches(spec, resolved))
        assert rows == 2
        bad = _spec(srv.url("a.zip"), sha(DATA), member="nope.csv")
        with pytest.raises(SourceError) as err:
            resolve_source(bad, bad.sources[0], home=tmp_path / "h2", mirrors=[])
        assert "archive member 'nope.csv' not found; fix: set read.member to one of: " in str(
            err.value)
    finally:
        srv.close()


def test_local_path_source(tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_bytes(DATA)
    for url in (str(src), src.as_uri()):
        spec = _spec(url, sha(DATA))
        resolved = resolve_source(spec, spec.sources[0], home=tmp_path / "h", mirrors=[])
        assert (resolved.origin, resolved.path) == ("local", src)
    spec = _spec(str(tmp_path / "gone.csv"), sha(DATA))
    with pytest.raises(SourceError) as err:
        resolve_source(spec, spec.sources[0], home=tmp_path / "h", mirrors=[])
    assert str(err.value) == (
        f"{tmp_path / 'gone.csv'}: source file not found; fix: check the source url, or put "
        "the file in a mirror as <FAIRLEDGER_MIRROR>/toy/d.csv".replace("d.csv", "gone.csv")
    )


def test_huggingface_offline_from_a_hub_layout_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    repo = tmp_path / "mirror" / "hubtoy" / "someone__toy"
    (repo / "data").mkdir(parents=True)
    table = pa.table({"y": [1, 0, 1, 0], "g": ["a", "b", "a", "c"], "x": [0.1, 0.2, 0.3, 0.4]})
    pq.write_table(table, repo / "data" / "train-00000-of-00001.parquet")
    pq.write_table(table.slice(0, 1), repo / "data" / "test-00000-of-00001.parquet")
    spec = parse_spec({
        "name": "hubtoy", "title": "Hub toy", "license": "CC0", "citation": "none",
        "sources": [{"kind": "huggingface", "repo_id": "someone/toy", "split": "train",
                     "revision": "a" * 40}],
        "label": {"column": "y", "positive": [1]}, "sensitive": [{"column": "g"}],
        "columns": {"g": "category"}, "split": {"kind": "all"},
    })
    resolved = resolve_source(spec, spec.sources[0], home=tmp_path / "home",
                              mirrors=[tmp_path / "mirror"])
    assert resolved.origin == "huggingface"
    fp = resolved.fingerprint
    assert (fp["repo_id"], fp["revision"], fp["split"], fp["rows"], fp["origin"]) == (
        "someone/toy", "a" * 40, "train", 4, "mirror")
    assert isinstance(fp["fingerprint"], str) and fp["fingerprint"]
    out = pa.Table.from_batches(list(iter_batches(spec, resolved, batch_rows=3)))
    assert out.column("g").to_pylist() == ["a", "b", "a", "c"]
    assert pa.types.is_dictionary(out.schema.field("g").type)
    again = resolve_source(spec, spec.sources[0], home=tmp_path / "home",
                           mirrors=[tmp_path / "mirror"])
    assert again.sha256 == resolved.sha256
