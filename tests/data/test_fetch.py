"""Downloads against a local HTTP server (Range, no Range, cut connection, corruption) and safe extraction."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import stat
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from sbsr_lab.data.benchmarks import detect_layout, validate
from sbsr_lab.data.benchmarks.fetch import CHECKSUMS_FILE, REGISTRY, download, fetch_dataset, safe_extract
from sbsr_lab.errors import DownloadError

try:
    from . import fixtures_benchmarks as fx
except ImportError:
    import fixtures_benchmarks as fx

PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Routes: /range/NAME honours Range; /norange/NAME ignores it; /cut/NAME sends half the bytes
    on its first request then behaves; /corrupt/NAME flips a byte; anything unknown is a 404."""

    files: dict[str, bytes] = {}
    log: list[tuple[str, str | None]] = []
    cut_pending: set[str] = set()

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        _, mode, name = self.path.split("/", 2)
        self.log.append((self.path, self.headers.get("Range")))
        data = self.files.get(name)
        if data is None:
            self.send_error(404, "Not Found")
            return
        if mode == "corrupt":
            data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        start = 0
        rng = self.headers.get("Range")
        if rng and mode in ("range", "cut"):
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut" and self.path in self.cut_pending:
            self.cut_pending.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture()
def server():
    _Handler.files = {"blob.bin": PAYLOAD}
    _Handler.log = []
    _Handler.cut_pending = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_with_range_server(server, tmp_path):
    base, handler = server
    dest = download(f"{base}/range/blob.bin", tmp_path / "blob.bin", PAYLOAD_SHA, progress=True)
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]
    # already there and verified: no new request
    download(f"{base}/range/blob.bin", dest, PAYLOAD_SHA, progress=False)
    assert len(handler.log) == 1


def test_cut_connection_then_second_call_resumes(server, tmp_path):
    base, handler = server
    url = f"{base}/cut/blob.bin"
    handler.cut_pending.add("/cut/blob.bin")
    with pytest.raises(DownloadError, match="run the same command again to resume") as info:
        download(url, tmp_path / "blob.bin", PAYLOAD_SHA, progress=False, retries=0)
    assert "blob.bin" in str(info.value)
    part = tmp_path / "blob.bin.part"
    assert part.stat().st_size == len(PAYLOAD) // 2 and not (tmp_path / "blob.bin").exists()
    download(url, tmp_path / "blob.bin", PAYLOAD_SHA, progress=False, retries=0)
    assert (tmp_path / "blob.bin").read_bytes() == PAYLOAD and not part.exists()
    assert handler.log[-1] == ("/cut/blob.bin", f"bytes={len(PAYLOAD) // 2}-")


def test_cut_connection_is_resumed_within_one_call(server, tmp_path):
    base, handler = server
    handler.cut_pending.add("/cut/blob.bin")
    download(f"{base}/cut/blob.bin", tmp_path / "blob.bin", PAYLOAD_SHA, progress=False, retries=2)
    assert (tmp_path / "blob.bin").read_bytes() == PAYLOAD
    assert [r for _, r in handler.log] == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    base, handler = server
    (tmp_path / "blob.bin.part").write_bytes(b"\x00" * 1000)  # wrong bytes that must not survive
    download(f"{base}/norange/blob.bin", tmp_path / "blob.bin", PAYLOAD_SHA, progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == PAYLOAD
    assert handler.log == [("/norange/blob.bin", "bytes=1000-")]


def test_complete_part_file_gets_416_and_is_verified(server, tmp_path):
    base, _ = server
    (tmp_path / "blob.bin.part").write_bytes(PAYLOAD)
    download(f"{base}/range/blob.bin", tmp_path / "blob.bin", PAYLOAD_SHA, progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == PAYLOAD


def test_corrupted_download_is_rejected_and_nothing_left(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match=r"blob.bin: checksum mismatch .* was deleted"):
        download(f"{base}/corrupt/blob.bin", tmp_path / "blob.bin", PAYLOAD_SHA, progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match="size mismatch"):
        download(f"{base}/range/blob.bin", tmp_path / "blob.bin", size=len(PAYLOAD) + 1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_offline_and_http_errors(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="cannot connect"):
        download(f"http://127.0.0.1:{_closed_port()}/x.zip", tmp_path / "x.zip", progress=False)
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{base}/range/none.zip", tmp_path / "none.zip", progress=False)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# whole dataset


def _shrec13_archives(tmp_path: Path) -> dict[str, bytes]:
    """The fixture tree zipped into the registry's archive names, one top-level folder each."""
    stage = tmp_path / "stage"
    fx.make_shrec13(stage)
    out = {}
    for arc in REGISTRY["shrec13"].archives:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for path in sorted((stage / arc.provides).rglob("*")):
                zf.write(path, path.relative_to(stage).as_posix())
        out[arc.filename] = buf.getvalue()
    return out


def test_fetch_dataset_end_to_end(server, tmp_path):
    base, handler = server
    handler.files.update(_shrec13_archives(tmp_path))
    root = tmp_path / "shrec13"
    fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    assert detect_layout(root) == "shrec13" and validate(root).ok
    record = json.loads((root / CHECKSUMS_FILE).read_text())["archives"]
    for arc in REGISTRY["shrec13"].archives:
        assert record[arc.filename]["sha256"] == hashlib.sha256(handler.files[arc.filename]).hexdigest()
        assert record[arc.filename]["source"] == "first verified download"
    assert not list(root.glob(".*.extracting"))
    # a second run downloads and extracts nothing
    n_requests = len(handler.log)
    marker = root / "SHREC13_SBR_TARGET_MODELS" / "marker"
    marker.write_text("kept")
    fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    assert len(handler.log) == n_requests and marker.exists()
    # the server's file changes: the recorded digest rejects it, nothing left behind
    (root / "downloads" / "SHREC13_SBR_TARGET_MODELS.zip").unlink()
    with pytest.raises(DownloadError) as info:
        fetch_dataset("shrec13", root, base_url=f"{base}/corrupt", progress=False)
    assert "SHREC13_SBR_TARGET_MODELS.zip: checksum mismatch" in str(info.value)
    assert sorted(p.name for p in (root / "downloads").iterdir()) == sorted(
        a.filename for a in REGISTRY["shrec13"].archives if a.filename != "SHREC13_SBR_TARGET_MODELS.zip")


def test_fetch_deletes_a_downloaded_page_that_is_not_an_archive(server, tmp_path):
    base, handler = server
    handler.files["SHREC13_SBR_TARGET_MODELS.zip"] = b"<html>This page has moved</html>"
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as info:
        fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    assert "not a zip or tar archive" in str(info.value) and "the download was deleted" in str(info.value)
    assert "To download" in str(info.value)
    assert list((root / "downloads").iterdir()) == [] and not (root / CHECKSUMS_FILE).exists()


def test_fetch_offline_explains_manual_download(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as info:
        fetch_dataset("shrec14", root, base_url=f"http://127.0.0.1:{_closed_port()}", progress=False)
    message = str(info.value)
    assert "cannot connect" in message and REGISTRY["shrec14"].page in message
    for arc in REGISTRY["shrec14"].archives:
        assert arc.filename in message
    assert f"{root / 'downloads'}/" in message and "sbsr-lab data fetch shrec14" in message
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch_dataset("shrec99", root)


def test_fetch_uses_archives_placed_by_hand(tmp_path):
    root = tmp_path / "data"
    for name, data in _shrec13_archives(tmp_path).items():
        (root / "downloads").mkdir(parents=True, exist_ok=True)
        (root / "downloads" / name).write_bytes(data)
    fetch_dataset("shrec13", root, base_url=f"http://127.0.0.1:{_closed_port()}", progress=False)
    assert validate(root).ok


# ---------------------------------------------------------------------------------------------
# safe extraction


def _zip(path: Path, names: list[str], symlink: tuple[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), b"data")
        if symlink:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, symlink[1])
    return path


def _tar(path: Path, members: list[tuple[str, str, str]]) -> Path:
    """members: (name, kind, link target) with kind in file/sym/hard."""
    with tarfile.open(path, "w:gz") as tf:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = 4
                tf.addfile(info, io.BytesIO(b"data"))
            else:
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = target
                tf.addfile(info)
    return path


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: _zip(p / "a.zip", ["ok/x.txt", "../evil"]), "'..'"),
        (lambda p: _zip(p / "a.zip", ["/abs/evil"]), "absolute path"),
        (lambda p: _zip(p / "a.zip", ["ok/x.txt"], symlink=("ok/link", "../../outside")), "a link to"),
        (lambda p: _tar(p / "a.tar.gz", [("ok/x", "file", ""), ("ok/../../evil", "file", "")]), "'..'"),
        (lambda p: _tar(p / "a.tar.gz", [("/abs/evil", "file", "")]), "absolute path"),
        (lambda p: _tar(p / "a.tar.gz", [("ok/link", "sym", "/etc/passwd")]), "a link to"),
        (lambda p: _tar(p / "a.tar.gz", [("ok/link", "sym", "../../outside")]), "a link to"),
        (lambda p: _tar(p / "a.tar.gz", [("ok/hard", "hard", "../outside")]), "a link to"),
    ],
)
def test_unsafe_archives_are_rejected(tmp_path, make, needle):
    archive = make(tmp_path)
    target = tmp_path / "target"
    with pytest.raises(DownloadError, match=needle):
        safe_extract(archive, target)
    assert list(target.iterdir()) == []  # nothing extracted, no temporary folder left
    assert not (tmp_path / "evil").exists() and not Path("/abs/evil").exists()


def test_safe_archives_extract(tmp_path):
    target = tmp_path / "target"
    made = safe_extract(_tar(tmp_path / "a.tar.gz", [("top/x", "file", ""), ("top/link", "sym", "x")]), target)
    assert made == [target / "top"]
    assert os.readlink(target / "top" / "link") == "x" and (target / "top" / "link").read_bytes() == b"data"
    made = safe_extract(_zip(tmp_path / "b.zip", ["other/y.txt"]), target)
    assert (target / "other" / "y.txt").read_bytes() == b"data"
    with pytest.raises(DownloadError, match="already exists and was not extracted by sbsr-lab"):
        safe_extract(tmp_path / "b.zip", target)
    (target / "other" / "y.txt").write_bytes(b"old")
    safe_extract(tmp_path / "b.zip", target, replace=["other"])  # the caller made it: replaced
    assert (target / "other" / "y.txt").read_bytes() == b"data"
    (tmp_path / "c.zip").write_bytes(b"<html>not found</html>")
    with pytest.raises(DownloadError, match="not a zip or tar archive"):
        safe_extract(tmp_path / "c.zip", target)
    assert sorted(p.name for p in target.iterdir()) == ["other", "top"]


# ---------------------------------------------------------------------------------------------
# hostile archives: foreign top-level names, the user's own entries, zip bombs


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


FIRST = REGISTRY["shrec13"].archives[0]  # SHREC13_SBR_TARGET_MODELS.zip -> SHREC13_SBR_TARGET_MODELS/


def _user_files(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True)
    (root / ".bashrc").write_bytes(b"the user's shell")
    (root / "downloads").mkdir()
    (root / "downloads" / "mine.txt").write_bytes(b"the user's file")
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_kept(root: Path, before: dict[str, bytes]) -> None:
    for rel, data in before.items():
        assert (root / rel).read_bytes() == data, rel


def test_fetch_never_replaces_or_deletes_the_users_entries(server, tmp_path):
    base, handler = server
    root = tmp_path / "data"
    before = _user_files(root)
    handler.files[FIRST.filename] = _zip_bytes({
        ".bashrc": b"rm -rf ~", "downloads/evil.txt": b"x", "README.txt": b"x",
        f"{FIRST.provides}/m0.off": b"OFF\n0 0 0\n"})
    # the first archive is extracted (only its expected folder), the next one is missing on the server
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    _assert_kept(root, before)
    assert (root / FIRST.provides / "m0.off").is_file()
    assert not (root / "README.txt").exists() and not (root / "downloads" / "evil.txt").exists()
    assert not list(root.glob(".*.extracting"))
    record = json.loads((root / CHECKSUMS_FILE).read_text())["archives"]
    assert record[FIRST.filename]["extracted"] == [FIRST.provides]


def test_fetch_refuses_an_archive_of_only_foreign_names(server, tmp_path):
    base, handler = server
    root = tmp_path / "data"
    before = _user_files(root)
    handler.files[FIRST.filename] = _zip_bytes({".bashrc": b"rm -rf ~", "downloads/": b"", "downloads/x": b"x"})
    with pytest.raises(DownloadError, match="holds nothing to extract"):
        fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    _assert_kept(root, before)
    assert sorted(p.name for p in root.iterdir()) == [".bashrc", "downloads"]
    assert sorted(p.name for p in (root / "downloads").iterdir()) == [FIRST.filename, "mine.txt"]


def test_fetch_leaves_a_folder_it_did_not_make(server, tmp_path):
    base, handler = server
    root = tmp_path / "data"
    (root / FIRST.provides).mkdir(parents=True)
    (root / FIRST.provides / "notes.txt").write_bytes(b"mine")
    handler.files[FIRST.filename] = _zip_bytes({f"{FIRST.provides}/m0.off": b"OFF"})
    with pytest.raises(DownloadError, match="already exists and was not extracted by sbsr-lab"):
        fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    assert [p.name for p in (root / FIRST.provides).iterdir()] == ["notes.txt"]


def test_fetch_replaces_only_what_an_earlier_fetch_extracted(server, tmp_path):
    base, handler = server
    handler.files.update(_shrec13_archives(tmp_path))
    root = tmp_path / "shrec13"
    fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    # a new version of the archive (placed by hand): the folder an earlier fetch made is replaced
    new = _zip_bytes({f"{FIRST.provides}/new.off": b"OFF"})
    (root / "downloads" / FIRST.filename).write_bytes(new)
    record = json.loads((root / CHECKSUMS_FILE).read_text())
    record["archives"][FIRST.filename]["sha256"] = hashlib.sha256(new).hexdigest()  # pin the new digest
    (root / CHECKSUMS_FILE).write_text(json.dumps(record))
    fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    assert [p.name for p in (root / FIRST.provides).iterdir()] == ["new.off"]


def test_zip_bomb_is_refused_before_writing(server, tmp_path):
    base, handler = server
    bomb = _zip_bytes({f"{FIRST.provides}/zeros.off": bytes(100 << 20)})  # 100 MiB of zeros
    assert len(bomb) < 200_000
    handler.files[FIRST.filename] = bomb
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match=r"looks like a zip bomb.*--max-extract-ratio") as info:
        fetch_dataset("shrec13", root, base_url=f"{base}/range", progress=False)
    assert "cannot extract" not in str(info.value)  # said once, not wrapped
    assert sorted(p.name for p in root.iterdir()) == ["downloads"]  # nothing extracted, no temporary folder
    # the total cap, with its own flag
    with pytest.raises(DownloadError, match=r"more than the 0.05 GB limit.*--max-extract-gb 1"):
        fetch_dataset("shrec13", root, progress=False, max_ratio=1e9, max_extract_gb=0.05)
    assert sorted(p.name for p in root.iterdir()) == ["downloads"]


def test_tar_bomb_and_lying_sizes(tmp_path):
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("top/zeros")
        info.size = 100 << 20
        tf.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(DownloadError, match="zip bomb"):
        safe_extract(path, tmp_path / "t")
    assert list((tmp_path / "t").iterdir()) == []
    # a zip member whose header under-states its size writes no more than the header says
    z = tmp_path / "b.zip"
    z.write_bytes(_zip_bytes({"top/x": b"y" * 1000}))
    data = bytearray(z.read_bytes())
    import struct
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 10)  # central directory: uncompressed size 10
    z.write_bytes(bytes(data))
    with pytest.raises(DownloadError):
        safe_extract(z, tmp_path / "u")
    assert list((tmp_path / "u").iterdir()) == []


def test_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DownloadError, match="is a file, not a folder"):
        fetch_dataset("shrec13", tmp_path / "f", progress=False)
