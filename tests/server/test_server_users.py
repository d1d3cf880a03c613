"""`hubrerank hub user add|remove|list`: users managed in the data dir, revocable while serving."""

from __future__ import annotations

import json
import socket
import stat

from helpers import run_cli
from hubserver_helpers import ServerProcess, request

from hubrerank.server import HubServer, UserSpec
from hubrerank.server.auth import Users

CAROL = "hrk_carol_" + "c" * 20


def test_add_generates_a_token_shown_once_and_stores_only_its_hash(tmp_path):
    data = tmp_path / "hub"
    result = run_cli(
        "hub", "user", "add", "carol", "--org", "acme", "--fullname", "Carol C.", "--data", str(data)
    )
    assert result.exit_code == 0, result.output
    token = result.output.split("Token (shown once, store it now): ")[1].strip()
    assert token.startswith("hrk_")
    users = data / "users.json"
    assert token not in users.read_text() and stat.S_IMODE(users.stat().st_mode) == 0o600
    listed = run_cli("hub", "user", "list", "--data", str(data))
    assert listed.output.splitlines() == ["carol\tacme"] and token not in listed.output
    with HubServer(data) as server:
        status, _, body = request(server.url, "GET", "/api/whoami-v2", token=token)
    assert status == 200 and json.loads(body)["orgs"][0]["name"] == "acme"
    assert json.loads(body)["fullname"] == "Carol C."


def test_add_takes_the_token_from_a_file_or_the_environment(tmp_path, monkeypatch):
    data = tmp_path / "hub"
    (tmp_path / "carol.token").write_text(CAROL + "\n")
    result = run_cli(
        "hub", "user", "add", "carol", "--token-file", str(tmp_path / "carol.token"), "--data", str(data)
    )
    assert result.exit_code == 0 and CAROL not in result.output and "Token" not in result.output
    monkeypatch.setenv("HUBRERANK_TOKEN", "hrk_dave_" + "d" * 20)
    result = run_cli("hub", "user", "add", "dave", "--data", str(data))
    assert result.exit_code == 0 and "Token" not in result.output
    users = Users(data)
    assert users.authenticate(CAROL).name == "carol"
    assert users.authenticate("hrk_dave_" + "d" * 20).name == "dave"


def test_removed_user_is_refused_at_once_by_a_running_server(tmp_path):
    data = tmp_path / "hub"
    with HubServer(data, users=[UserSpec("carol", CAROL)]) as server:
        assert request(server.url, "GET", "/api/whoami-v2", token=CAROL)[0] == 200
        result = run_cli("hub", "user", "remove", "carol", "--data", str(data))
        assert result.exit_code == 0 and "no longer works" in result.output
        status, headers, _ = request(server.url, "GET", "/api/whoami-v2", token=CAROL)
        assert status == 401 and headers["x-error-message"] == "Invalid credentials in Authorization header"
    assert run_cli("hub", "user", "remove", "carol", "--data", str(data)).exit_code == 2
    with HubServer(data) as server:  # a restart does not bring her back
        assert request(server.url, "GET", "/api/whoami-v2", token=CAROL)[0] == 401


def test_restart_with_the_same_users_does_not_rewrite_the_users_file(tmp_path):
    data = tmp_path / "hub"
    with HubServer(data, users=[UserSpec("carol", CAROL)]):
        pass
    before = (data / "users.json").stat()
    with HubServer(data, users=[UserSpec("carol", CAROL)]):
        pass
    after = (data / "users.json").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_serve_warns_about_a_token_in_argv_but_not_about_a_token_file(tmp_path):
    (tmp_path / "carol.token").write_text(CAROL)
    with socket.socket() as busy:  # the server then exits right after parsing its options
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        argv = run_cli(
            "hub", "serve", "--data", str(tmp_path / "a"), "--port", port, "--user", f"carol:{CAROL}"
        )
        in_file = run_cli(
            "hub",
            "serve",
            "--data",
            str(tmp_path / "b"),
            "--port",
            port,
            "--user",
            f"carol:@{tmp_path / 'carol.token'}",
        )
    assert "visible to every local user (ps)" in argv.output and CAROL not in argv.output
    assert "Warning" not in in_file.output and "is in use" in in_file.output
    missing = run_cli("hub", "serve", "--data", str(tmp_path / "c"), "--user", "carol:@/nonexistent/token")
    assert missing.exit_code == 2 and "cannot read token file /nonexistent/token" in missing.output


def _export_line(server: ServerProcess) -> str:
    assert server.proc.stdout is not None
    for raw in server.proc.stdout:
        if raw.startswith(b"export "):
            return raw.decode().strip()
    raise AssertionError("hub serve printed no export line")


def test_serve_prints_the_export_line_with_a_token_only_when_it_was_generated(tmp_path):
    data = tmp_path / "hub"
    server = ServerProcess(data, [])
    try:
        line = _export_line(server)
    finally:
        server.stop()
    token = json.loads((data / "local-user.json").read_text())["token"]
    assert line == f"export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1 HF_TOKEN={token}"
    server = ServerProcess(data, [])
    try:
        assert _export_line(server).endswith("HF_HUB_DISABLE_XET=1 HF_TOKEN=<your token>")
    finally:
        server.stop()
