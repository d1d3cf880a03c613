"""Helpers for the embedded Hub's tests: raw HTTP calls and server subprocesses."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | dict | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw request (the path is sent verbatim, no normalization): status, headers, body."""
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    all_headers = dict(headers or {})
    if isinstance(body, dict):
        all_headers.setdefault("Content-Type", "application/json")
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        if own:
            conn.close()


def ndjson_commit(summary: str, files: dict[str, bytes], parent: str | None = None) -> bytes:
    """A commit payload adding ``files`` as regular files."""
    header = {"summary": summary, "description": ""}
    if parent:
        header["parentCommit"] = parent
    lines = [{"key": "header", "value": header}]
    lines += [
        {"key": "file", "value": {"path": p, "content": base64.b64encode(d).decode(), "encoding": "base64"}}
        for p, d in files.items()
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def lfs_upload_href(url: str, repo_path: str, data: bytes, token: str) -> str | None:
    """Ask the LFS batch endpoint where to PUT ``data``; None if the server already has it."""
    oid = hashlib.sha256(data).hexdigest()
    status, _, body = request(
        url,
        "POST",
        f"/{repo_path}.git/info/lfs/objects/batch",
        {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
        token,
    )
    assert status == 200, body
    actions = json.loads(body)["objects"][0].get("actions")
    return None if actions is None else actions["upload"]["href"]


class ServerProcess:
    """``hubrerank hub serve`` in a subprocess on a free port (so that it can be SIGKILLed).

    ``fd_limit``: start it under ``ulimit -n fd_limit``. ``log``: its output goes to this file (else
    to a pipe, read only when it fails to start). ``extra``: more ``hub serve`` options.
    """

    def __init__(
        self,
        data_dir: Path,
        users: list[str],
        *,
        fd_limit: int | None = None,
        log: Path | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        port_file = data_dir.parent / f"{data_dir.name}-{time.monotonic_ns()}.port"
        args = [
            sys.executable,
            "-m",
            "hubrerank",
            "hub",
            "serve",
            "--data",
            str(data_dir),
            "--port",
            "0",
            "--port-file",
            str(port_file),
            *extra,
        ]
        for user in users:  # NAME:TOKEN[:ORGS], passed as NAME:@FILE[:ORGS] (a token in argv shows in ps)
            name, token, *orgs = user.split(":")
            token_file = data_dir.parent / f"{name}-{time.monotonic_ns()}.token"
            token_file.write_text(token)
            args += ["--user", ":".join([name, f"@{token_file}", *orgs])]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

        def limit_fds() -> None:
            if fd_limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

        out = None if log is None else log.open("wb")
        try:
            self.proc = subprocess.Popen(
                args,
                cwd=REPO_ROOT,
                env=env,
                stdout=out or subprocess.PIPE,
                stderr=subprocess.STDOUT,
                preexec_fn=limit_fds,
            )
        finally:
            if out is not None:
                out.close()
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait(10)
                output = log.read_text() if log is not None else self.proc.stdout.read().decode()  # type: ignore[union-attr]
                raise RuntimeError(f"hub serve did not start: {output}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, like a crash."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(10)
