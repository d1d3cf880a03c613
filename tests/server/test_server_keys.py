"""Verification keys on the embedded Hub: registered by their user (API) or an admin (CLI), listed to all."""

from __future__ import annotations

import json

from helpers import run_cli
from hubserver_helpers import request

from hubrerank.server import HubServer, UserSpec
from hubrerank.server.keys import VerifyKeys
from hubrerank.signatures import SigningKey

ALICE = "hrk_alice_" + "k" * 20
BOB = "hrk_bob_" + "k" * 20


def test_a_user_registers_lists_and_removes_their_own_keys(tmp_path):
    key, other = SigningKey.generate(), SigningKey.generate()
    with HubServer(tmp_path / "hub", users=[UserSpec("alice", ALICE), UserSpec("bob", BOB)]) as server:
        status, _, body = request(server.url, "POST", "/api/verify-keys", {"key": key.public_text}, ALICE)
        assert status == 200 and json.loads(body)["id"] == key.key_id
        again = request(server.url, "POST", "/api/verify-keys", {"key": key.public_text}, ALICE)
        assert again[0] == 200  # the same key twice is a no-op
        taken = request(server.url, "POST", "/api/verify-keys", {"key": key.public_text}, BOB)
        assert taken[0] == 409 and "registered to another user" in taken[1]["x-error-message"]
        assert request(server.url, "POST", "/api/verify-keys", {"key": other.public_text}, BOB)[0] == 200
        status, _, body = request(server.url, "GET", "/api/users/alice/verify-keys")
        assert status == 200 and [k["key"] for k in json.loads(body)] == [key.public_text]
        gone = request(server.url, "DELETE", f"/api/verify-keys/{key.key_id}", token=BOB)
        assert gone[0] == 404  # bob cannot remove alice's key
        assert request(server.url, "DELETE", f"/api/verify-keys/{key.key_id}", token=ALICE)[0] == 200
        assert json.loads(request(server.url, "GET", "/api/users/alice/verify-keys")[2]) == []


def test_bad_keys_and_anonymous_callers_are_refused_before_anything_is_stored(tmp_path):
    data = tmp_path / "hub"
    with HubServer(data, users=[UserSpec("alice", ALICE)]) as server:
        anonymous = request(server.url, "POST", "/api/verify-keys", {"key": "ed25519:AAAA"})
        assert anonymous[0] == 401
        for body in ({"key": "ssh-ed25519 AAAAC3"}, {"key": 5}, {}):
            status, headers, _ = request(server.url, "POST", "/api/verify-keys", body, ALICE)
            assert status == 400, body
            assert "key" in headers["x-error-message"]
        assert request(server.url, "GET", "/api/users/nobody/verify-keys")[0] == 404
    assert not (data / "verify-keys.json").exists()


def test_admin_cli_adds_lists_and_removes_keys_and_removing_a_user_forgets_them(tmp_path):
    data = tmp_path / "hub"
    key = SigningKey.generate()
    assert run_cli("hub", "key", "add", "carol", key.public_text, "--data", str(data)).exit_code == 2
    assert run_cli("hub", "user", "add", "carol", "--data", str(data)).exit_code == 0
    bad = run_cli("hub", "key", "add", "carol", "not-a-key", "--data", str(data))
    assert bad.exit_code == 2 and "is not a public key" in bad.output
    added = run_cli("hub", "key", "add", "carol", key.public_text, "--data", str(data))
    assert added.exit_code == 0 and key.key_id in added.output
    listed = run_cli("hub", "key", "list", "--data", str(data))
    assert listed.output.strip() == f"{key.key_id}\tcarol\t{key.public_text}"
    assert run_cli("hub", "user", "remove", "carol", "--data", str(data)).exit_code == 0
    assert VerifyKeys(data).get(key.key_id) is None
    missing = run_cli("hub", "key", "remove", "carol", key.key_id, "--data", str(data))
    assert missing.exit_code == 2 and "has no verification key" in missing.output
