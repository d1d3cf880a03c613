"""At its file-descriptor limit the server stays reachable: it caps connections below ``ulimit -n``,
drops the connections that wait longest for a request head to admit new ones, and logs that once per
interval with counts (never a traceback per failed ``accept()``)."""

from __future__ import annotations

import errno
import json
import os
import socket

import pytest
from hubserver_helpers import ServerProcess, request

from hubrerank.errors import ServerError
from hubrerank.server import HubServer, UserSpec, disk
from hubrerank.server.connections import ConnectionLimits

FD_LIMIT = 256
HALF_OPEN = 300  # more than the server may hold under FD_LIMIT


def test_limits_follow_the_descriptor_limit():
    limits = ConnectionLimits.for_fd_limit(FD_LIMIT)
    assert (limits.max_connections, limits.accept_batch) == (88, 16)
    assert ConnectionLimits.for_fd_limit(20_000).max_connections == 9_904
    with pytest.raises(ServerError, match=r"ulimit -n 80\) is too low to serve; raise it to at least 88"):
        ConnectionLimits.for_fd_limit(80)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_half_open_connections_beyond_the_fd_limit_do_not_lock_clients_out(tmp_path):
    log = tmp_path / "serve.log"
    server = ServerProcess(tmp_path / "hub", [], fd_limit=FD_LIMIT, log=log)
    port = int(server.url.rsplit(":", 1)[1])
    half_open = []
    try:
        for _ in range(HALF_OPEN):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /api/whoami-v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: unfinished
            half_open.append(sock)
        for _ in range(3):  # the first is admitted by dropping the longest-waiting half-open connection
            assert request(server.url, "GET", "/api/whoami-v2")[0] == 401
        closed = sum(_closed_by_server(sock) for sock in half_open)
        assert closed >= HALF_OPEN + 1 - ConnectionLimits.for_fd_limit(FD_LIMIT).max_connections
        assert not _closed_by_server(half_open[-1])  # the newest waited least: still open
    finally:
        for sock in half_open:
            sock.close()
        server.stop()
    text = log.read_text()
    assert "Traceback" not in text and "Too many open files" not in text
    limit_lines = [line for line in text.splitlines() if "at the connection limit" in line]
    assert len(limit_lines) == 1  # the first time at once, then at most one line per 10 s
    assert "(88 connections, ulimit -n 256) now: closed 1 waiting connection(s)" in limit_lines[0]


def test_a_handler_out_of_descriptors_answers_503_with_retry_after(tmp_path, monkeypatch):
    token = "hrk_fd_" + "f" * 20
    with HubServer(tmp_path / "hub", users=[UserSpec("fred", token)]) as server:

        def no_descriptor(*args: object, **kwargs: object) -> None:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

        monkeypatch.setattr(disk, "write_atomic", no_descriptor)
        status, headers, body = request(server.url, "POST", "/api/repos/create", {"name": "r"}, token)
        assert status == 503 and headers["retry-after"] == "1"
        assert "out of file descriptors" in json.loads(body)["error"]
        monkeypatch.undo()
        assert request(server.url, "POST", "/api/repos/create", {"name": "r"}, token)[0] == 200
