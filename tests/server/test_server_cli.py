"""`hubrerank hub serve|ls`, and the server's Python interface (users, ports, data dirs, restarts)."""

from __future__ import annotations

import socket
import stat

import pytest
from helpers import run_cli
from hubserver_helpers import request

from hubrerank.errors import ServerError
from hubrerank.server import HubServer, UserSpec, ensure_local_user, parse_user


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("alice", "--user expects NAME:@TOKEN_FILE[:ORG,ORG...]"),
        ("alice:short", "the token must be"),
        ("..:hrk_long_enough_token", "invalid user name"),
        ("alice:hrk_long_enough_token:a/b", "invalid org name"),
        ("api:hrk_long_enough_token", "reserved"),
    ],
)
def test_serve_rejects_malformed_user_with_exit_2(tmp_path, user, message):
    result = run_cli("hub", "serve", "--data", str(tmp_path / "hub"), "--port", "0", "--user", user)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "hrk_long_enough_token" not in result.output


def test_serve_on_busy_port_exits_2(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("hub", "serve", "--data", str(tmp_path / "hub"), "--port", str(port))
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.output


def test_serve_with_unwritable_data_dir_exits_2(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = run_cli("hub", "serve", "--data", str(tmp_path / "a-file" / "hub"), "--port", "0")
    assert result.exit_code == 2
    assert "is not writable" in result.output and len(result.output.strip().splitlines()) == 1


def test_ls_lists_repos_from_the_data_dir(hub):
    request(hub.url, "POST", "/api/repos/create", {"name": "cli-listed", "type": "dataset"}, hub.alice_token)
    request(
        hub.url,
        "POST",
        "/api/repos/create",
        {"name": "cli-org", "organization": "acme", "visibility": "private"},
        hub.alice_token,
    )
    result = run_cli("hub", "ls", "--data", str(hub.data_dir))
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "alice/cli-listed" in line)
    assert line.split()[:3] == ["dataset", "alice/cli-listed", "public"]
    assert len(line.split()[3]) == 40 and line.endswith("initial commit")
    result = run_cli("hub", "ls", "acme", "--data", str(hub.data_dir))
    assert result.output.split()[:3] == ["model", "acme/cli-org", "private"]
    assert all(line.split()[1].startswith("acme/") for line in result.output.splitlines())


def test_ls_without_data_exits_2(tmp_path):
    result = run_cli("hub", "ls", "--data", str(tmp_path / "nothing"))
    assert result.exit_code == 2 and "no embedded Hub data" in result.output


def test_parse_user():
    expected = UserSpec("carol", "hrk_carol_token", ("acme", "labs"))
    assert parse_user("carol:hrk_carol_token:acme,labs") == expected
    assert parse_user("carol:hrk_carol_token") == UserSpec("carol", "hrk_carol_token")
    with pytest.raises(ServerError):
        parse_user("carol:hrk_carol_token:acme:extra")


def test_ensure_local_user_is_stable_and_private(tmp_path):
    first = ensure_local_user(tmp_path / "hub")
    assert first == ensure_local_user(tmp_path / "hub") and first.token.startswith("hrk_")
    assert stat.S_IMODE((tmp_path / "hub" / "local-user.json").stat().st_mode) == 0o600


def test_users_and_repos_persist_across_restarts(tmp_path):
    carol = UserSpec("carol", "hrk_carol_" + "c" * 20)
    with HubServer(tmp_path / "hub", users=[carol]) as server:
        assert request(server.url, "POST", "/api/repos/create", {"name": "kept"}, carol.token)[0] == 200
        with pytest.raises(ServerError, match=f"port {server.port} on 127.0.0.1 is in use"):
            HubServer(tmp_path / "other", port=server.port).start()
    with HubServer(tmp_path / "hub") as server:
        status, _, body = request(server.url, "GET", "/api/models/carol/kept", token=carol.token)
        assert status == 200 and b'"sha"' in body


def test_unwritable_data_dir_raises_server_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ServerError, match="is not writable"):
        HubServer(tmp_path / "a-file" / "hub").start()
