"""Path traversal, private repos, tokens and keep-alive safety, through raw HTTP."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import os
import stat
from urllib.parse import urlsplit

import pytest
from hubserver_helpers import lfs_upload_href, ndjson_commit, request

INVALID = "Invalid credentials in Authorization header"


@pytest.fixture(scope="module")
def public_repo(hub):
    request(hub.url, "POST", "/api/repos/create", {"name": "sec-public"}, hub.alice_token)
    status, _, _ = request(
        hub.url,
        "POST",
        "/api/models/alice/sec-public/commit/main",
        ndjson_commit("add", {"ok.txt": b"ok"}),
        hub.alice_token,
    )
    assert status == 200
    return "alice/sec-public"


@pytest.fixture(scope="module")
def private_repo(hub):
    body = {"name": "sec-private", "visibility": "private"}
    assert request(hub.url, "POST", "/api/repos/create", body, hub.alice_token)[0] == 200
    status, _, _ = request(
        hub.url,
        "POST",
        "/api/models/alice/sec-private/commit/main",
        ndjson_commit("add", {"secret.txt": b"secret"}),
        hub.alice_token,
    )
    assert status == 200
    return "alice/sec-private"


@pytest.mark.parametrize(
    "path",
    [
        "/alice/sec-public/resolve/main/..%2F..%2F..%2Fetc%2Fpasswd",
        "/alice/sec-public/resolve/main/%2e%2e/%2e%2e/etc/passwd",
        "/alice/sec-public/resolve/main//etc/passwd",
        "/alice/sec-public/resolve/main/sub%5C..%5Cok.txt",
        "/alice/sec-public/resolve/main/ok.txt%00.png",
        "/alice/%2e%2e/resolve/main/ok.txt",
        "/%2e%2e/sec-public/resolve/main/ok.txt",
        "/api/models/alice/%2e%2e",
        "/api/models/alice/sec-public/tree/main/%2e%2e",
        "/api/models/alice/a%5Cb",
    ],
)
def test_traversal_in_urls_is_400(hub, public_repo, path):
    status, _, _ = request(hub.url, "GET", path, token=hub.alice_token)
    assert status == 400


BAD_PATHS = ["../escape.txt", "/abs.txt", "a\\b.txt", "nul\x00.txt", "new\nline", "a/./b", ".git/config"]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_traversal_in_commit_and_preupload_is_422(hub, public_repo, bad):
    api = "/api/models/alice/sec-public"
    payload = ndjson_commit("bad", {bad: b"x"})
    commit = request(hub.url, "POST", f"{api}/commit/main", payload, hub.alice_token)
    files = {"files": [{"path": bad, "size": 1, "sample": base64.b64encode(b"x").decode()}]}
    preupload = request(hub.url, "POST", f"{api}/preupload/main", files, hub.alice_token)
    assert (commit[0], preupload[0]) == (422, 422)  # as the Hub answers ..\\ddd


@pytest.mark.parametrize("name", ["..", "a..b", "-x", "x/y", "x.git", "a\\b"])
def test_bad_repo_names_are_400(hub, name):
    assert request(hub.url, "POST", "/api/repos/create", {"name": name}, hub.alice_token)[0] == 400


def test_private_repo_is_401_to_anonymous_and_404_to_others(hub, private_repo):
    for path in ("/api/models/alice/sec-private", "/alice/sec-private/resolve/main/secret.txt"):
        status, headers, _ = request(hub.url, "GET", path)
        assert (status, headers["x-error-code"]) == (401, "RepoNotFound")
        assert headers["x-error-message"] != INVALID
        status, headers, _ = request(hub.url, "GET", path, token=hub.bob_token)
        assert (status, headers["x-error-code"]) == (404, "RepoNotFound")
        assert request(hub.url, "GET", path, token=hub.alice_token)[0] == 200
    # bob can neither write to it nor learn that it exists
    status, _, _ = request(
        hub.url,
        "POST",
        "/api/models/alice/sec-private/commit/main",
        ndjson_commit("x", {"x.txt": b"x"}),
        hub.bob_token,
    )
    assert status == 404


def test_private_repo_hidden_from_client_libraries(hub, private_repo):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    for token in (False, hub.bob_token):
        with pytest.raises(RepositoryNotFoundError):
            HfApi(endpoint=hub.url, token=token).model_info(private_repo)
    assert HfApi(endpoint=hub.url, token=hub.alice_token).model_info(private_repo).private is True


def test_write_permissions_follow_namespace_and_orgs(hub, public_repo):
    assert (
        request(
            hub.url, "POST", "/api/repos/create", {"name": "sec-org", "organization": "acme"}, hub.alice_token
        )[0]
        == 200
    )
    assert (
        request(
            hub.url, "POST", "/api/repos/create", {"name": "sec-org2", "organization": "acme"}, hub.bob_token
        )[0]
        == 403
    )
    assert request(hub.url, "POST", "/api/repos/create", {"name": "sec-anon"})[0] == 401
    status, _, _ = request(
        hub.url,
        "POST",
        "/api/models/alice/sec-public/commit/main",
        ndjson_commit("x", {"x.txt": b"x"}),
        hub.bob_token,
    )
    assert status == 403
    status, _, _ = request(
        hub.url,
        "POST",
        "/api/models/acme/sec-org/commit/main",
        ndjson_commit("x", {"x.txt": b"x"}),
        hub.alice_token,
    )
    assert status == 200


@pytest.mark.parametrize("header", ["Bearer hrk_wrong_token_123", "Bearer ", "Basic YWxpY2U6eA=="])
def test_bad_token_is_401_invalid_credentials(hub, public_repo, header):
    for method, path in [
        ("GET", "/api/whoami-v2"),
        ("GET", "/api/models/alice/sec-public"),
        ("GET", "/alice/sec-public/resolve/main/ok.txt"),
    ]:
        status, headers, _ = request(hub.url, method, path, headers={"Authorization": header})
        assert (status, headers["x-error-message"]) == (401, INVALID)


def test_bad_token_error_type_in_client(hub, public_repo):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    with pytest.raises(HfHubHTTPError) as error:
        HfApi(endpoint=hub.url, token="hrk_wrong_token_123").model_info(public_repo)
    assert not isinstance(error.value, RepositoryNotFoundError)
    assert error.value.response.status_code == 401


def test_error_before_reading_body_keeps_connection_usable(hub, public_repo):
    parts = urlsplit(hub.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    payload = ndjson_commit("big", {"big.txt": os.urandom(2_000_000)})
    for token in ("hrk_wrong_token_123", None):  # rejected: bad token, then anonymous
        status, _, _ = request(
            hub.url, "POST", "/api/models/alice/sec-public/commit/main", payload, token, conn=conn
        )
        assert status == 401
    status, _, _ = request(hub.url, "PUT", "/api/nowhere", os.urandom(500_000), conn=conn)
    assert status == 404
    status, _, body = request(hub.url, "GET", "/api/whoami-v2", token=hub.alice_token, conn=conn)
    assert status == 200 and json.loads(body)["name"] == "alice"
    conn.close()


def test_lfs_upload_needs_a_valid_signature_and_matching_bytes(hub, public_repo):
    data = os.urandom(50_000)
    href = lfs_upload_href(hub.url, "alice/sec-public", data, hub.alice_token)
    path = href[len(hub.url) :]
    assert request(hub.url, "PUT", path.replace("sig=", "sig=0"), data)[0] == 403
    assert request(hub.url, "PUT", path, data[:-1] + b"!")[0] == 400
    assert lfs_upload_href(hub.url, "alice/sec-public", data, hub.alice_token) is not None  # not stored
    assert request(hub.url, "PUT", path, data)[0] == 200
    assert lfs_upload_href(hub.url, "alice/sec-public", data, hub.alice_token) is None


def test_lfs_batch_refuses_non_owners(hub, public_repo):
    oid = hashlib.sha256(b"x").hexdigest()
    body = {"operation": "upload", "objects": [{"oid": oid, "size": 1}], "ref": {"name": "main"}}
    batch = "/alice/sec-public.git/info/lfs/objects/batch"
    assert request(hub.url, "POST", batch, body, hub.bob_token)[0] == 403
    assert request(hub.url, "POST", batch, body)[0] == 401
    del body["ref"]  # the upload of a pull request's files (create_pr=True): open to readers, as on the Hub
    assert request(hub.url, "POST", batch, body, hub.bob_token)[0] == 200


def test_tokens_are_stored_hashed_and_never_logged(hub, public_repo, caplog):
    caplog.set_level(logging.INFO, logger="hubrerank.server.access")
    data = os.urandom(1000)
    href = lfs_upload_href(hub.url, "alice/sec-public", data, hub.alice_token)
    request(hub.url, "PUT", href[len(hub.url) :], data)
    request(hub.url, "GET", "/api/whoami-v2", token=hub.alice_token)
    request(hub.url, "GET", "/api/whoami-v2", token="hrk_wrong_token_123")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "hubrerank.server.access")
    assert "/api/whoami-v2" in logged and "/api/lfs-upload/" in logged
    for secret in (hub.alice_token, "hrk_wrong_token_123", href.split("sig=")[1]):
        assert secret not in logged
    users = hub.data_dir / "users.json"
    assert hub.alice_token not in users.read_text()
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
