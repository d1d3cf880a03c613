"""Issue 17: inputs an operator found that hurt the server or leak data, sent through raw HTTP."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import shutil
import socket
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from hubserver_helpers import lfs_upload_href, ndjson_commit, request

from hubrerank.server.objects import AddFile

API = "/api/models/alice/hard"


@pytest.fixture(scope="module")
def repo(hub):
    assert request(hub.url, "POST", "/api/repos/create", {"name": "hard"}, hub.alice_token)[0] == 200
    return "alice/hard"


# ---- paths, ref names, log lines, file modes, listing


@pytest.mark.parametrize(
    "files",
    [{"m.txt": b"file", "m.txt/x": b"inside"}, {"d/m.txt": b"file", "d/m.txt/x/y": b"inside"}],
)
def test_file_and_folder_cannot_share_a_path(hub, repo, files):
    status, _, body = request(
        hub.url, "POST", f"{API}/commit/main", ndjson_commit("clash", files), hub.alice_token
    )
    assert status == 409
    first, second = files
    assert repr(first) in body.decode() and repr(second) in body.decode()


def test_file_over_an_existing_folder_and_folder_over_an_existing_file_are_409(hub, repo):
    payload = ndjson_commit("base", {"f.txt": b"file", "g/x.txt": b"x"})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    for files in ({"f.txt/y": b"y"}, {"g": b"g"}):
        payload = ndjson_commit("clash", files)
        assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 409


@pytest.mark.parametrize("path", [".GIT/config", ".Git/hooks/x", "sub/.git/config", "a/.gIt"])
def test_dot_git_in_any_case_and_depth_is_refused(hub, repo, path):
    payload = ndjson_commit("git", {path: b"x"})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 422


@pytest.mark.parametrize(
    "name",
    [
        "HEAD",
        "a.",
        "refs%2Fheads%2Fmain",
        "..",
        "a..b",
        "a%2F.b",
        ".a",
        "a.lock%2Fb",
        "x.lock",
        "a%2F",
        "a%2F%2Fb",
        "a%40%7Bb",
        "a%20b",
        "a%09b",
        "a~1",
        "a%5Eb",
        "a:b",
        "a%3Fb",
        "a*b",
        "a%5Bb",
        "a%5Cb",
        "%40",
    ],
)
def test_branch_and_tag_names_follow_git_check_ref_format(hub, repo, name):
    assert request(hub.url, "POST", f"{API}/branch/{name}", {}, hub.alice_token)[0] == 400
    assert (
        request(hub.url, "POST", f"{API}/tag/main", {"tag": name.replace("%2F", "/")}, hub.alice_token)[0]
        == 400
    )


@pytest.mark.parametrize("name", ["feature%2Fx", "v1.0", "release-2_b"])
def test_ordinary_branch_names_still_work(hub, repo, name):
    assert request(hub.url, "POST", f"{API}/branch/{name}", {}, hub.alice_token)[0] == 200


def test_control_chars_in_a_path_cannot_forge_access_log_lines(hub, repo, caplog):
    caplog.set_level(logging.INFO, logger="hubrerank.server.access")
    forged = "/x%0A2026-01-01%20%22GET%20/forged%22%20200%0D%1B[31m"
    request(hub.url, "GET", forged)
    request(hub.url, "GET", "/alice/hard/resolve/main/a%0Ab.txt")
    for _ in range(200):  # the server logs a request after answering it
        lines = [r.getMessage() for r in caplog.records if r.name == "hubrerank.server.access"]
        lines = [line for line in lines if "/x%0A" in line or "a%0Ab" in line]
        if len(lines) == 2:
            break
        time.sleep(0.01)
    assert len(lines) == 2
    assert all(" " <= char <= "~" for line in lines for char in line)


def test_repo_data_is_not_readable_by_other_users(hub, repo):
    payload = ndjson_commit("modes", {"modes/a.txt": b"a"})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    assert stat.S_IMODE(hub.data_dir.stat().st_mode) == 0o700
    for folder, dirs, files in os.walk(hub.data_dir):
        for name in dirs + files:
            mode = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
            assert mode & 0o077 == 0, (os.path.join(folder, name), oct(mode))


def test_a_repo_moved_into_a_new_namespace_keeps_its_folders_private(hub):
    from hubrerank.server.admin import move_repo
    from hubrerank.server.objects import Repo
    from hubrerank.server.storage import Store

    store = Store(hub.data_dir)
    source = Repo("dataset", "alice", "to-be-moved")
    store.create_repo(source, private=False, author="alice")
    move_repo(store, source, Repo("dataset", "fresh-namespace", "moved"))
    moved = hub.data_dir / "repos" / "datasets" / "fresh-namespace"
    assert moved.is_dir() and stat.S_IMODE(moved.stat().st_mode) == 0o700


@pytest.mark.parametrize("author", ["..", "../..", "*", "alice/hard", "a[b]"])
def test_listing_author_must_be_a_namespace_name(hub, repo, author):
    from urllib.parse import quote

    from hubrerank.server.storage import Store

    status, _, _ = request(hub.url, "GET", f"/api/models?author={quote(author, safe='')}")
    assert status == 400
    assert request(hub.url, "GET", "/api/models?author=alice")[0] == 200
    assert Store(hub.data_dir).list_repos(author) == []  # `hubrerank hub ls ../..`: nothing, no glob


# ---- README front matter: linear scan, bounded YAML alias expansion


@pytest.mark.timeout(60)  # the backtracking regex needed hours for this; the line scan, milliseconds
@pytest.mark.parametrize("newlines", [4_000, 500_000])
def test_front_matter_of_many_newlines_is_scanned_linearly(hub, newlines):
    from hubrerank.server.views import front_matter

    text = "---" + "\n" * newlines
    assert front_matter(text) is None
    assert front_matter(text + "---\n") == "\n" * (newlines - 2)
    status, _, _ = request(hub.url, "POST", "/api/validate-yaml", {"content": text})
    assert status == 200


@pytest.mark.parametrize(
    "text, block",
    [
        ("---\na: 1\n---\nbody", "a: 1"),
        ("\n  ---\r\na: 1\r\n---", "a: 1"),
        ("---\na: |\n  ---\n---\n", "a: |\n  ---"),
        ("text\n---\na: 1\n---\n", None),
        ("---\na: 1\n", None),
        ("---a\nb: 1\n---\n", None),
    ],
)
def test_front_matter_matches_the_hub_regex_on_ordinary_cards(text, block):
    from hubrerank.server.views import front_matter

    assert front_matter(text) == block


ALIAS_BOMB = (
    "---\nlicense: mit\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n---\n"
)
DEEP = "---\nlicense: mit\na: " + "[" * 5000 + "]" * 5000 + "\n---\n"
DEEP_BY_ALIASES = (
    "---\na0: &a0 [1]\n" + "".join(f"a{i + 1}: &a{i + 1} [*a{i}]\n" for i in range(100)) + "---\n"
)
SELF_ALIAS = "---\nlicense: mit\na: &a [1, *a]\n---\n"


@pytest.mark.parametrize(
    "card",
    [ALIAS_BOMB, DEEP, DEEP_BY_ALIASES, SELF_ALIAS],
    ids=["alias-bomb", "deep", "deep-by-aliases", "self"],
)
def test_card_yaml_alias_bombs_and_deep_nesting_are_refused(hub, repo, card):
    status, _, body = request(hub.url, "POST", "/api/validate-yaml", {"content": card})
    assert status == 400 and (b"alias" in body or b"deeper" in body)
    payload = ndjson_commit("card", {"README.md": card.encode()})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    status, _, body = request(hub.url, "GET", API)
    assert status == 200 and len(body) < 10_000
    assert "cardData" not in json.loads(body)


def test_cards_with_ordinary_aliases_still_parse(hub, repo):
    import yaml

    tags = ["a", "b"]  # yaml.dump (so huggingface_hub's ModelCardData) writes an alias for a shared object
    data = {"license": "mit", "tags": tags, "model-index": [{"name": "x", "results": [], "tags": tags}]}
    card = f"---\n{yaml.dump(data, sort_keys=False)}---\n# Card\n"
    assert "*id001" in card
    assert request(hub.url, "POST", "/api/validate-yaml", {"content": card})[0] == 200
    payload = ndjson_commit("card", {"README.md": card.encode()})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    info = json.loads(request(hub.url, "GET", API)[2])
    assert info["cardData"]["tags"] == ["a", "b"] and "license:mit" in info["tags"]


# ---- bodies: authenticate first, cap by route, keep the connection usable


def _raw_exchange(hub, head: bytes, body: bytes = b"") -> bytes:
    """Send raw bytes, return what the server answers within 10 s (until it closes or goes quiet)."""
    parts = urlsplit(hub.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer


def test_anonymous_write_is_answered_before_its_body_arrives(hub):
    head = (
        b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 419430400\r\n\r\n"
    )  # 400 MiB announced, none sent: the answer cannot wait for it
    answer = _raw_exchange(hub, head)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" in answer.lower()


def test_body_announced_over_the_route_limit_is_413_naming_it_before_it_arrives(hub, repo):
    head = (
        f"POST /api/models/alice/hard/preupload/main HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {hub.alice_token}\r\nContent-Length: {(16 << 20) + 1}\r\n\r\n"
    ).encode()
    answer = _raw_exchange(hub, head)
    assert answer.startswith(b"HTTP/1.1 413 ") and str(16 << 20).encode() in answer
    assert b"connection: close" in answer.lower()


def test_body_over_the_route_limit_is_413_and_drained_when_small(hub, repo):
    parts = urlsplit(hub.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    status, _, body = request(
        hub.url, "POST", "/api/repos/create", b" " * (1 << 20) * 3, hub.alice_token, conn=conn
    )
    assert status == 413 and b"1048576" in body
    status, _, _ = request(hub.url, "GET", "/api/whoami-v2", token=hub.alice_token, conn=conn)
    assert status == 200
    conn.close()


def test_chunked_body_over_the_limit_is_413_after_the_limit(hub, repo):
    parts = urlsplit(hub.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    chunks = (b" " * 65536 for _ in range(17))  # 1 MiB + 64 KiB, no Content-Length
    headers = {"Authorization": f"Bearer {hub.alice_token}", "Content-Type": "application/json"}
    conn.request("POST", "/api/repos/create", body=chunks, headers=headers, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413 and b"1048576" in response.read()
    # the rest was small enough to be drained: the connection still works
    status, _, _ = request(hub.url, "GET", "/api/whoami-v2", token=hub.alice_token, conn=conn)
    assert status == 200
    conn.close()


# ---- JSON fields of the wrong type: 400 naming the field


def _commit(*items: dict) -> bytes:
    header = {"key": "header", "value": {"summary": "s"}}
    return b"".join(json.dumps(item).encode() + b"\n" for item in (header, *items))


def _with(base: dict, key: str, value: object) -> dict:
    return {**base, key: value}


OID = "0" * 64
STR_BAD, BOOL_BAD, INT_BAD, LIST_BAD = (
    [5, ["x"], {"a": 1}, True],
    ["yes", 1],
    ["1", 1.5, True],
    ["x", {"a": 1}],
)
H = "/api/models/alice/hard"
TYPE_CASES: list[tuple[str, str, str, object]] = []  # (method, path, field, body)
for key, bad in [
    ("name", STR_BAD),
    ("organization", STR_BAD),
    ("type", STR_BAD),
    ("visibility", STR_BAD),
    ("private", BOOL_BAD),
]:
    TYPE_CASES += [("POST", "/api/repos/create", key, _with({"name": "typed"}, key, v)) for v in bad]
for key in ("name", "organization", "type"):
    TYPE_CASES += [("DELETE", "/api/repos/delete", key, _with({"name": "typed"}, key, v)) for v in STR_BAD]
TYPE_CASES += [("PUT", f"{H}/settings", "visibility", {"visibility": v}) for v in STR_BAD]
TYPE_CASES += [("PUT", f"{H}/settings", "private", {"private": v}) for v in BOOL_BAD]
TYPE_CASES += [("POST", "/api/validate-yaml", "content", {"content": v}) for v in STR_BAD]
TYPE_CASES += [("POST", f"{H}/paths-info/main", "paths", {"paths": v}) for v in LIST_BAD]
TYPE_CASES += [("POST", f"{H}/paths-info/main", "paths", {"paths": [5]})]
TYPE_CASES += [("POST", f"{H}/paths-info/main", "expand", {"paths": [], "expand": v}) for v in BOOL_BAD]
PRE = {"path": "a.txt", "size": 1, "sample": "eA=="}
TYPE_CASES += [("POST", f"{H}/preupload/main", "files", {"files": v}) for v in LIST_BAD]
TYPE_CASES += [("POST", f"{H}/preupload/main", "files[0]", {"files": [v]}) for v in ("x", 5, [])]
for key, bad in [("path", STR_BAD), ("size", INT_BAD), ("sample", STR_BAD)]:
    TYPE_CASES += [
        ("POST", f"{H}/preupload/main", f"files[0].{key}", {"files": [_with(PRE, key, v)]}) for v in bad
    ]
BATCH = "/alice/hard.git/info/lfs/objects/batch"
OBJ = {"oid": OID, "size": 1}
TYPE_CASES += [("POST", BATCH, "operation", {"operation": v, "objects": []}) for v in STR_BAD]
TYPE_CASES += [("POST", BATCH, "objects", {"operation": "upload", "objects": v}) for v in LIST_BAD]
TYPE_CASES += [("POST", BATCH, "objects[0]", {"operation": "upload", "objects": [v]}) for v in ("x", 5)]
for key, bad in [("oid", STR_BAD), ("size", INT_BAD)]:
    TYPE_CASES += [
        ("POST", BATCH, f"objects[0].{key}", {"operation": "upload", "objects": [_with(OBJ, key, v)]})
        for v in bad
    ]
C = f"{H}/commit/main"
TYPE_CASES += [("POST", C, "commit line 1", json.dumps(v).encode() + b"\n") for v in ("x", [1], 5)]
TYPE_CASES += [("POST", C, "key", json.dumps({"key": v, "value": {}}).encode()) for v in STR_BAD]
TYPE_CASES += [
    ("POST", C, "value", json.dumps({"key": "header", "value": v}).encode()) for v in ("x", [1], 5)
]
for key in ("summary", "description", "parentCommit"):
    TYPE_CASES += [
        ("POST", C, key, json.dumps({"key": "header", "value": {"summary": "s", key: v}}).encode())
        for v in STR_BAD
    ]
OPS = {
    "file": {"path": "a.txt", "content": "eA==", "encoding": "base64"},
    "lfsFile": {"path": "a.bin", "oid": OID, "size": 1, "algo": "sha256"},
    "deletedFile": {"path": "a.txt"},
    "deletedFolder": {"path": "d/"},
}
for op, value in OPS.items():
    for key in value:
        bad = INT_BAD if key == "size" else STR_BAD
        if key != "algo":
            TYPE_CASES += [("POST", C, key, _commit({"key": op, "value": _with(value, key, v)})) for v in bad]
TYPE_CASES += [("POST", f"{H}/branch/typed", "startingPoint", {"startingPoint": v}) for v in STR_BAD]
TYPE_CASES += [("POST", f"{H}/tag/main", "tag", {"tag": v}) for v in STR_BAD]
TYPE_CASES += [("POST", f"{H}/tag/main", "message", {"tag": "typed", "message": v}) for v in STR_BAD]


@pytest.mark.parametrize("method, path, field, body", TYPE_CASES)
def test_wrong_json_types_are_400_naming_the_field(hub, repo, method, path, field, body):
    status, _, answer = request(hub.url, method, path, body, hub.alice_token)
    assert status == 400, answer
    assert field in json.loads(answer)["error"], answer


JSON_ROUTES = [
    ("POST", "/api/repos/create"),
    ("DELETE", "/api/repos/delete"),
    ("PUT", f"{H}/settings"),
    ("POST", "/api/validate-yaml"),
    ("POST", f"{H}/preupload/main"),
    ("POST", BATCH),
    ("POST", f"{H}/commit/main"),
    ("POST", f"{H}/branch/deep"),
    ("POST", f"{H}/tag/main"),
]


@pytest.mark.parametrize("method, path", JSON_ROUTES)
def test_deeply_nested_json_is_400(hub, repo, method, path):
    status, _, answer = request(hub.url, method, path, b"[" * 200_000, hub.alice_token)
    assert status == 400 and b"nested too deeply" in answer
    nested = {"paths": json.loads("[" * 500 + "]" * 500)}
    json_type = {"Content-Type": "application/json"}
    status, _, _ = request(
        hub.url, "POST", f"{H}/paths-info/main", b"[" * 200_000, hub.alice_token, json_type
    )
    assert status == 400
    assert request(hub.url, "POST", f"{H}/paths-info/main", nested, hub.alice_token)[0] == 400


# ---- LFS objects: only uploaders, or readers of a repo holding them, may reference them


def _lfs_line(path: str, data: bytes) -> dict:
    oid = hashlib.sha256(data).hexdigest()
    return {"key": "lfsFile", "value": {"path": path, "oid": oid, "size": len(data), "algo": "sha256"}}


def _upload(hub, repo_path: str, data: bytes, token: str) -> None:
    href = lfs_upload_href(hub.url, repo_path, data, token)
    assert href is not None
    assert request(hub.url, "PUT", href[len(hub.url) :], data)[0] == 200


@pytest.fixture(scope="module")
def bob_repo(hub):
    assert request(hub.url, "POST", "/api/repos/create", {"name": "hard-bob"}, hub.bob_token)[0] == 200
    return "bob/hard-bob"


def test_another_users_private_lfs_object_cannot_be_referenced_or_probed(hub, bob_repo):
    body = {"name": "hard-private", "visibility": "private"}
    assert request(hub.url, "POST", "/api/repos/create", body, hub.alice_token)[0] == 200
    secret = os.urandom(3000)
    _upload(hub, "alice/hard-private", secret, hub.alice_token)
    payload = _commit(_lfs_line("secret.bin", secret))
    assert (
        request(hub.url, "POST", "/api/models/alice/hard-private/commit/main", payload, hub.alice_token)[0]
        == 200
    )
    # alice may commit it again elsewhere without uploading: she uploaded it
    assert lfs_upload_href(hub.url, "alice/hard", secret, hub.alice_token) is None
    # bob is asked to upload it, as if the server did not have it, and cannot commit it blindly
    assert lfs_upload_href(hub.url, bob_repo, secret, hub.bob_token) is not None
    payload = _commit(_lfs_line("stolen.bin", secret))
    status, _, body = request(hub.url, "POST", "/api/models/bob/hard-bob/commit/main", payload, hub.bob_token)
    assert status == 422 and b"upload it" in body
    assert request(hub.url, "GET", "/bob/hard-bob/resolve/main/stolen.bin")[0] == 404
    # once bob proves he has the bytes (uploads them), he may
    _upload(hub, bob_repo, secret, hub.bob_token)
    assert request(hub.url, "POST", "/api/models/bob/hard-bob/commit/main", payload, hub.bob_token)[0] == 200


def test_lfs_object_of_a_public_repo_can_be_referenced_by_its_readers(hub, repo, bob_repo):
    shared = os.urandom(2000)
    _upload(hub, "alice/hard", shared, hub.alice_token)
    payload = _commit(_lfs_line("shared.bin", shared))
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    assert lfs_upload_href(hub.url, bob_repo, shared, hub.bob_token) is None
    payload = _commit(_lfs_line("copy.bin", shared))
    assert request(hub.url, "POST", "/api/models/bob/hard-bob/commit/main", payload, hub.bob_token)[0] == 200


def test_upload_urls_are_bound_to_their_user(hub, repo):
    data = os.urandom(500)
    href = lfs_upload_href(hub.url, "alice/hard", data, hub.alice_token)
    assert request(hub.url, "PUT", href[len(hub.url) :].replace("user=alice", "user=bob"), data)[0] == 403


def test_repos_committed_before_the_markers_still_hold_their_objects(tmp_path):
    from hubrerank.server.objects import Entry, Repo
    from hubrerank.server.storage import Store

    store = Store(tmp_path)
    store.initialize()
    repo = Repo("model", "alice", "legacy")
    store.create_repo(repo, private=True, author="alice")
    data = os.urandom(100)
    writer = store.blob_writer()
    writer.write(data)
    writer.finish(hashlib.sha256(data).hexdigest(), len(data))
    entry = Entry.large(hashlib.sha256(data).hexdigest(), len(data))
    store.apply(repo, "main", [AddFile("a.bin", entry)], title="t", message="", author="alice")
    shutil.rmtree(tmp_path / "repos" / "models" / "alice" / "legacy" / "lfs")  # as written by older versions
    assert store.repos_holding(entry.sha256) == []
    assert store.repo_holds(repo, entry.sha256)
    assert store.repos_holding(entry.sha256) == [repo]
    assert not store.repo_holds(repo, "1" * 64)


# ---- writers queued on a locked repo never take the threads reads need


def test_reads_are_served_while_many_commits_wait_for_a_repo_lock(hub, repo):
    from hubrerank.server.objects import Repo
    from hubrerank.server.storage import Store

    assert request(hub.url, "POST", "/api/repos/create", {"name": "hard-locked"}, hub.alice_token)[0] == 200
    path = "/api/models/alice/hard-locked/commit/main"
    with ThreadPoolExecutor(48) as pool:
        with Store(hub.data_dir)._lock(Repo("model", "alice", "hard-locked")):  # a writer that never ends
            commits = [
                pool.submit(
                    request,
                    hub.url,
                    "POST",
                    path,
                    ndjson_commit(f"c{i}", {f"{i}.txt": b"x"}),
                    hub.alice_token,
                )
                for i in range(48)
            ]
            time.sleep(1)  # let them all arrive and queue (a read must not wait behind them)
            status, _, _ = request(hub.url, "GET", API, headers={"Connection": "close"})
            assert status == 200
            assert not any(commit.done() for commit in commits)
        assert sorted(commit.result()[0] for commit in commits) == [200] * 48


# ---- connections: TCP_NODELAY, deadlines, oversized heads, LFS upload size


def test_accepted_connections_have_tcp_nodelay(tmp_path):
    from hubrerank.server import HubServer

    with HubServer(tmp_path / "hub") as server:
        parts = urlsplit(server.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as client:
            client.sendall(b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 401")
            connections = list(server._server.server_state.connections)
            assert connections
            for protocol in connections:
                sock = protocol.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_incomplete_request_head_is_closed_after_the_deadline(hub, monkeypatch, caplog):
    from hubrerank.server import runner

    monkeypatch.setattr(runner, "HEAD_TIMEOUT_S", 0.3)
    caplog.set_level(logging.WARNING, logger="hubrerank.server.http")
    parts = urlsplit(hub.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\nX-Half: ")
        assert sock.recv(100) == b""  # closed by the server (a socket timeout would raise)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        assert sock.recv(100) == b""  # a connection that never sends anything, too
    lines = [r for r in caplog.records if r.name == "hubrerank.server.http"]
    assert len(lines) == 2 and all(
        r.exc_info is None and "no complete request head" in r.getMessage() for r in lines
    )


def test_stalled_request_body_is_408_and_closed(hub, repo, monkeypatch):
    from hubrerank.server import call

    monkeypatch.setattr(call, "BODY_IDLE_TIMEOUT_S", 0.3)
    head = (
        f"POST {API}/commit/main HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hub.alice_token}\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    answer = _raw_exchange(hub, head, b'{"key": "hea')
    assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower()


@pytest.mark.parametrize(
    "head, status",
    [
        (b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n", 431),
        (b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ],
    ids=["1MB-header", "200KB-url"],
)
def test_oversized_request_heads_get_431_or_414_not_a_reset(hub, head, status, caplog):
    caplog.set_level(logging.WARNING, logger="hubrerank.server.http")
    answer = _raw_exchange(hub, head)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    lines = [r for r in caplog.records if r.name == "hubrerank.server.http"]
    assert len(lines) == 1 and lines[0].exc_info is None and str(status) in lines[0].getMessage()


def _upload_path(hub, size: int) -> str:
    body = {
        "operation": "upload",
        "objects": [{"oid": hashlib.sha256(os.urandom(8)).hexdigest(), "size": size}],
    }
    status, _, answer = request(
        hub.url, "POST", "/alice/hard.git/info/lfs/objects/batch", body, hub.alice_token
    )
    assert status == 200
    return json.loads(answer)["objects"][0]["actions"]["upload"]["href"][len(hub.url) :]


def test_lfs_upload_longer_than_signed_is_refused_as_it_arrives(hub, repo):
    parts = urlsplit(hub.url)
    # announced: refused before any byte of the body is read
    head = f"PUT {_upload_path(hub, 1)} HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n\r\n".encode()
    assert _raw_exchange(hub, head).startswith(b"HTTP/1.1 413 ")
    # chunked: refused once more than the signed size arrived; the partial file is gone
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("PUT", _upload_path(hub, 1), body=(b"x" * 65536 for _ in range(8)), encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413 and b"signed for" in response.read()
    conn.close()
    assert not any(p.name.startswith("upload-") for p in (hub.data_dir / "tmp").iterdir())


def test_existing_world_readable_layout_is_made_private_at_start(tmp_path):
    from hubrerank.server.storage import Store

    for folder in ("objects", "repos", "tmp"):
        (tmp_path / folder).mkdir(mode=0o755)
        os.chmod(tmp_path / folder, 0o755)
    os.chmod(tmp_path, 0o755)
    Store(tmp_path).initialize()
    for folder in ("objects", "repos", "tmp", "locks", "trash", "uploads"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # not ours to change: it may be a shared folder


def test_too_many_waiting_writes_get_503_with_retry_after(hub, repo, monkeypatch):
    from hubrerank.server import app
    from hubrerank.server.objects import Repo
    from hubrerank.server.storage import Store

    monkeypatch.setattr(app, "MAX_WAITING_WRITES", 3)
    assert request(hub.url, "POST", "/api/repos/create", {"name": "hard-queue"}, hub.alice_token)[0] == 200
    path = "/api/models/alice/hard-queue/commit/main"
    with ThreadPoolExecutor(6) as pool:
        with Store(hub.data_dir)._lock(Repo("model", "alice", "hard-queue")):
            commits = [
                pool.submit(
                    request,
                    hub.url,
                    "POST",
                    path,
                    ndjson_commit(f"q{i}", {f"{i}.txt": b"x"}),
                    hub.alice_token,
                )
                for i in range(6)
            ]
            time.sleep(1)
        answers = [commit.result() for commit in commits]
    assert sorted(status for status, _, _ in answers) == [200] * 3 + [503] * 3
    assert all(headers.get("retry-after") for status, headers, _ in answers if status == 503)


def test_card_data_is_read_from_the_first_2_mib_of_the_readme(hub, repo):
    padding = "# " + "x" * 100 + "\n"
    late = "---\nlicense: mit\nnote: " + "y" * (3 << 20) + "\n---\n"  # closes after 3 MiB: not read
    payload = ndjson_commit("late", {"README.md": late.encode()})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    assert "cardData" not in json.loads(request(hub.url, "GET", API)[2])
    early = "---\nlicense: apache-2.0\n---\n" + padding * 30_000  # 3 MiB README, card at the top
    payload = ndjson_commit("early", {"README.md": early.encode()})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    assert json.loads(request(hub.url, "GET", API)[2])["cardData"] == {"license": "apache-2.0"}
