"""`hubrerank hub gc`, the gc pass `hub serve` schedules, and a full disk: writes answer 507, reads and
restarts still work."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from helpers import run_cli
from hubserver_helpers import ServerProcess, lfs_upload_href, ndjson_commit, request

import hubrerank.server as server_package
from hubrerank.errors import ServerError
from hubrerank.server import HubServer, UserSpec, disk, ensure_local_user, storage
from hubrerank.server.gc import GcSchedule, collect

TOKEN = "hrk_carol_" + "c" * 20
CAROL = UserSpec("carol", TOKEN)


def _commit(url: str, repo: str, files: dict[str, bytes], branch: str = "main") -> int:
    return request(url, "POST", f"/api/models/{repo}/commit/{branch}", ndjson_commit("c", files), TOKEN)[0]


def _age(path, seconds: float = 7200) -> None:
    """Make ``path`` (and what it holds) look ``seconds`` old, i.e. older than gc's grace period."""
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        stamp = item.stat().st_mtime - seconds
        os.utime(item, (stamp, stamp))


def _blob(data_dir, data: bytes):
    sha = hashlib.sha256(data).hexdigest()
    return data_dir / "objects" / sha[:2] / sha[2:4] / sha


def test_gc_removes_only_what_nothing_reaches(tmp_path):
    data = tmp_path / "hub"
    with HubServer(data, users=[CAROL]) as server:
        for name in ("kept", "gone"):
            request(server.url, "POST", "/api/repos/create", {"name": name}, TOKEN)
        assert _commit(server.url, "carol/kept", {"kept.txt": b"kept bytes"}) == 200
        assert _commit(server.url, "carol/gone", {"gone.txt": b"bytes of a deleted repo"}) == 200
        request(server.url, "POST", "/api/models/carol/kept/branch/side", {}, TOKEN)
        assert _commit(server.url, "carol/kept", {"side.txt": b"only on a deleted branch"}, "side") == 200
        request(server.url, "DELETE", "/api/models/carol/kept/branch/side", token=TOKEN)
        assert request(server.url, "DELETE", "/api/repos/delete", {"name": "gone"}, TOKEN)[0] == 200
        orphan = os.urandom(2000)  # uploaded, never committed
        href = lfs_upload_href(server.url, "carol/kept", orphan, TOKEN)
        assert request(server.url, "PUT", href[len(server.url) :], orphan)[0] == 200
        (data / "tmp" / "upload-stale").write_bytes(b"x" * 100)
        (data / "trash" / "crashed-delete").mkdir()
        (data / "trash" / "crashed-delete" / "repo.json").write_bytes(b"{}")
        fresh_tmp = data / "tmp" / "upload-in-flight"
        _age(data)
        fresh_tmp.write_bytes(b"y" * 10)

        dry = run_cli("hub", "gc", "--data", str(data), "--dry-run")
        assert dry.exit_code == 0 and "would remove blob" in dry.output
        assert _blob(data, orphan).exists()
        result = run_cli("hub", "gc", "--data", str(data))
        assert result.exit_code == 0
        assert dry.output.replace("would remove", "removed") == result.output
        kinds = [line.split()[1] for line in result.output.splitlines()[:-1]]
        assert sorted(kinds) == ["blob", "blob", "blob", "commit", "deleted", "staging"]
        assert "removed 6 item(s)" in result.output
        for gone in (orphan, b"bytes of a deleted repo", b"only on a deleted branch"):
            assert not _blob(data, gone).exists()
        assert _blob(data, b"kept bytes").exists() and fresh_tmp.exists()
        status, _, body = request(server.url, "GET", "/carol/kept/resolve/main/kept.txt")
        assert status == 200 and body == b"kept bytes"
        assert request(server.url, "GET", "/carol/kept/resolve/main/.gitattributes")[0] == 200
        assert _commit(server.url, "carol/kept", {"after.txt": b"after gc"}) == 200
    assert "removed 0 item(s), 0 bytes" in run_cli("hub", "gc", "--data", str(data)).output


def test_gc_keeps_fresh_uploads_and_blobs_a_client_was_told_are_stored(tmp_path):
    data = tmp_path / "hub"
    with HubServer(data, users=[CAROL]) as server:
        request(server.url, "POST", "/api/repos/create", {"name": "r"}, TOKEN)
        young = os.urandom(500)
        href = lfs_upload_href(server.url, "carol/r", young, TOKEN)
        request(server.url, "PUT", href[len(server.url) :], young)
        assert collect(data) == []  # an upload whose commit has not arrived yet is kept
        _age(_blob(data, young))
        # a client told "already stored" by the LFS batch endpoint refreshes the blob's grace period
        assert lfs_upload_href(server.url, "carol/r", young, TOKEN) is None
        assert collect(data) == []


@pytest.fixture
def full_disk(monkeypatch):
    """Every data write fails with ENOSPC, as on a full disk (reads still work)."""

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def enable() -> None:
        monkeypatch.setattr(disk, "write_atomic", no_space)
        monkeypatch.setattr(storage.BlobWriter, "write", no_space)

    return enable


def test_full_disk_writes_answer_507_and_reads_and_restarts_still_work(tmp_path, full_disk):
    data = tmp_path / "hub"
    with HubServer(data, users=[CAROL]) as server:
        request(server.url, "POST", "/api/repos/create", {"name": "r"}, TOKEN)
        assert _commit(server.url, "carol/r", {"a.txt": b"before the disk filled"}) == 200
    full_disk()
    with HubServer(data, users=[CAROL]) as server:  # starts: nothing to write when nothing changed
        status, _, body = request(server.url, "GET", "/carol/r/resolve/main/a.txt")
        assert status == 200 and body == b"before the disk filled"
        assert request(server.url, "GET", "/api/models/carol/r", token=TOKEN)[0] == 200
        new = os.urandom(3000)
        writes = [
            ("POST", "/api/repos/create", json.dumps({"name": "r2"}).encode()),
            ("POST", "/api/models/carol/r/commit/main", ndjson_commit("c", {"b.txt": b"new bytes"})),
            ("PUT", lfs_upload_href(server.url, "carol/r", new, TOKEN)[len(server.url) :], new),
            ("POST", "/api/models/carol/r/branch/dev", b"{}"),
        ]
        for method, path, body in writes:
            status, headers, answer = request(server.url, method, path, body, TOKEN)
            assert status == 507, (path, answer)
            assert (
                "disk is full" in json.loads(answer)["error"] and "disk is full" in headers["x-error-message"]
            )
        assert request(server.url, "GET", "/api/whoami-v2", token=TOKEN)[0] == 200  # same connection pool


def _staged_uploads(data_dir) -> list:
    return list((data_dir / "tmp").glob("upload-*"))


def test_serve_reclaims_a_crashed_servers_staging_and_deleted_repos_by_itself(tmp_path):
    data = tmp_path / "hub"
    server = ServerProcess(data, [f"carol:{TOKEN}"], extra=("--no-gc",))
    try:
        for name in ("kept", "gone"):
            request(server.url, "POST", "/api/repos/create", {"name": name}, TOKEN)
        assert _commit(server.url, "carol/kept", {"kept.txt": b"kept bytes"}) == 200
        assert _commit(server.url, "carol/gone", {"gone.txt": b"bytes of a deleted repo"}) == 200
        assert request(server.url, "DELETE", "/api/repos/delete", {"name": "gone"}, TOKEN)[0] == 200
        data_bytes = os.urandom(3 * 1024 * 1024)
        href = urlsplit(lfs_upload_href(server.url, "carol/kept", data_bytes, TOKEN))
        with socket.create_connection((href.hostname, href.port), timeout=10) as upload:
            length = len(data_bytes)
            head = f"PUT {href.path}?{href.query} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
            upload.sendall(head.encode() + data_bytes[: 2 * 1024 * 1024])  # the rest never comes
            deadline = time.monotonic() + 30
            while not _staged_uploads(data) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _staged_uploads(data)
            server.kill()  # kill -9 during the upload
    finally:
        server.kill()
    assert _staged_uploads(data) and _blob(data, b"bytes of a deleted repo").exists()
    _age(data)  # an hour later: past the grace period, and no gc pass ran for an hour

    log = tmp_path / "serve.log"
    server = ServerProcess(data, [], log=log)  # default: reclaims by itself
    try:
        deadline = time.monotonic() + 30
        while _blob(data, b"bytes of a deleted repo").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _blob(data, b"bytes of a deleted repo").exists() and not _staged_uploads(data)
        status, _, body = request(server.url, "GET", "/carol/kept/resolve/main/kept.txt")
        assert status == 200 and body == b"kept bytes"
    finally:
        server.stop()
    assert "gc removed 2 item(s)" in log.read_text()  # the deleted repo's blob and the staged upload


def test_servers_on_one_data_dir_share_the_gc_schedule(tmp_path):
    data = tmp_path / "hub"
    with HubServer(data, users=[CAROL]):
        pass
    _age(data)
    first, second = GcSchedule(data, interval_s=600), GcSchedule(data, interval_s=600)
    assert first.seconds_until_due() <= 0 and second.seconds_until_due() <= 0
    first.run_pass()
    assert 590 < second.seconds_until_due() <= 600  # a pass of any server (or hub gc) counts
    before = second.seconds_until_due()
    assert run_cli("hub", "gc", "--data", str(data), "--dry-run").exit_code == 0
    assert before - 5 < second.seconds_until_due() <= before  # a dry run is not a pass
    _age(data)
    assert run_cli("hub", "gc", "--data", str(data)).exit_code == 0
    assert 590 < second.seconds_until_due() <= 600  # `hub gc` is


@pytest.mark.parametrize(
    ("flags", "expected"), [((), 3600.0), (("--gc-every", "60"), 60.0), (("--no-gc",), None)]
)
def test_serve_schedules_gc_unless_told_not_to(tmp_path, monkeypatch, flags, expected):
    seen = {}

    class Recorder:
        def __init__(self, data_dir, **kwargs) -> None:
            seen.update(kwargs)

        def start(self) -> None:
            raise ServerError("recorded")

    monkeypatch.setattr(server_package, "HubServer", Recorder)
    result = run_cli("hub", "serve", "--data", str(tmp_path / "hub"), "--port", "0", *flags)
    assert result.exit_code == 2 and "recorded" in result.output
    assert seen["gc_every_s"] == expected and seen["gc_grace_s"] == 3600.0


@pytest.fixture
def small_fs(tmp_path):
    """A 256 KiB tmpfs (needs root): a disk that really fills up."""
    mount = tmp_path / "small-fs"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(folder) -> None:
    """Write to ``folder``'s file system until it is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            for _ in range(10_000):  # 40 MB at most: the file system is far smaller
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


def test_start_on_a_full_disk_is_exit_2_naming_what_could_not_be_written(tmp_path, small_fs):
    data = small_fs  # a data dir alone on its disk (ServerProcess writes beside it)
    with HubServer(data, users=[ensure_local_user(data)]):  # as `hub serve` leaves it
        pass
    _fill(small_fs)
    result = run_cli(
        "hub", "serve", "--data", str(data), "--port", "0", "--port-file", str(small_fs / "port")
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"Error: cannot write the port file {small_fs / 'port'}: the disk is full (No space left on device); "
        "free space or choose another --port-file"
    )
    assert not list(small_fs.glob("*port*")) and not list(small_fs.glob(".*"))  # nothing half-written
    result = run_cli("hub", "serve", "--data", str(small_fs / "new-hub"), "--port", "0")
    assert result.exit_code == 2
    assert result.output.startswith(
        f"Error: cannot write {small_fs / 'new-hub' / 'local-user.json'}: the disk is full"
    )
    assert len(result.output.strip().splitlines()) == 1

    server = ServerProcess(data, [])  # the port file on another disk: it serves, reads only
    try:
        assert request(server.url, "GET", "/api/models/carol/none")[0] == 401
    finally:
        server.stop()
