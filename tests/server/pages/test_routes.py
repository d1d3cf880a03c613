"""The pages' plumbing over HTTP: listings, search, login and logout, privacy, headers, route order."""

from __future__ import annotations

import json
import re

import pytest

from hubrerank.server.pages.routes import CSP, PAGE_SIZE, SESSION_COOKIE

PRIVATE_PATHS = (
    "",
    "/tree/main",
    "/commits/main",
    "/blob/main/.gitattributes",
    "/commit/main",
    "/discussions",
)


@pytest.fixture
def repos(api, name) -> dict[str, str]:
    """A public model, a public dataset and a private model of alice, named after the test."""
    made = {
        "public": f"alice/{name}-public",
        "private": f"alice/{name}-private",
        "data": f"alice/{name}-data",
    }
    api.create_repo(made["public"])
    api.create_repo(made["private"], private=True)
    api.create_repo(made["data"], repo_type="dataset")
    return made


def test_the_index_lists_what_anyone_may_read_and_counts_only_that(web, repos, name):
    answer = web.get(f"/?search={name}")
    assert answer.status == 200
    assert f'href="/{repos["public"]}"' in answer.text
    assert f'href="/datasets/{repos["data"]}"' in answer.text
    assert repos["private"] not in answer.text
    assert "2 results for" in answer.text
    assert re.search(r'Models <span class="count">1</span>', answer.text)


def test_the_owner_sees_the_private_repo_everywhere(web, repos, name, hub):
    cookie = web.login(hub.alice_token)
    listing = web.get(f"/?search={name}", cookie=cookie)
    assert repos["private"] in listing.text and "3 results for" in listing.text
    assert web.get(f"/{repos['private']}", cookie=cookie).status == 200
    assert repos["private"] in web.get("/alice", cookie=cookie).text


@pytest.mark.parametrize("who", ["anonymous", "bob", "bob-token"])
def test_a_private_repo_is_a_404_to_everyone_else(web, repos, hub, who):
    cookie = web.login(hub.bob_token) if who == "bob" else None
    token = hub.bob_token if who == "bob-token" else None
    for path in PRIVATE_PATHS:
        answer = web.get(f"/{repos['private']}{path}", token=token, cookie=cookie)
        assert answer.status == 404, path
        assert repos["private"].split("/")[1] not in answer.text.replace(f"next=/{repos['private']}", "")
    assert repos["private"] not in web.get("/alice", token=token, cookie=cookie).text


def test_listings_page_by_page_size(web, api, name):
    for number in range(PAGE_SIZE + 1):
        api.create_repo(f"alice/{name}-{number:02d}")
    first, second = web.get(f"/?search={name}"), web.get(f"/?search={name}&p=2")
    assert "page 1 of 2" in first.text and "page 2 of 2" in second.text
    assert len(re.findall(r'<li>\s*<span class="kind', first.text)) == PAGE_SIZE
    assert len(re.findall(r'<li>\s*<span class="kind', second.text)) == 1
    assert "page 2 of 2" in web.get(f"/?search={name}&p=999").text  # past the end: the last page
    assert "page 1 of 2" in web.get(f"/?search={name}&p=-1").text


def test_login_sets_a_strict_http_only_cookie_and_logout_clears_it(web, hub):
    answer = web.post("/login", {"token": hub.alice_token, "next": "/alice"})
    assert answer.status == 303 and answer.headers["location"] == "/alice"
    (cookie,) = answer.cookies
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert hub.alice_token not in cookie
    session = cookie.split(";", 1)[0]
    assert "Log out" in web.get("/", cookie=session).text
    out = web.post("/logout", {}, headers={"Cookie": session})
    assert out.status == 303 and out.headers["location"] == "/"
    assert re.search(rf'{SESSION_COOKIE}=""?;.*Max-Age=0', out.cookies[0])


@pytest.mark.parametrize("token", ["wrong-token-123", "", "x" * 600, "bad token with spaces"])
def test_a_wrong_token_is_refused_with_one_line_and_no_cookie(web, token):
    answer = web.post("/login", {"token": token})
    assert answer.status == 401 and not answer.cookies
    assert "That token is not valid on this Hub." in answer.text


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:x"]
)
def test_login_only_goes_on_to_this_hub(web, hub, target):
    answer = web.post("/login", {"token": hub.alice_token, "next": target})
    assert answer.headers["location"] == "/"


def test_a_next_page_cannot_inject_headers(web, hub):
    answer = web.post("/login", {"token": hub.alice_token, "next": "/x\r\nSet-Cookie: evil=1"})
    assert answer.status == 303 and "\n" not in answer.headers["location"]
    assert not any(cookie.startswith("evil") for cookie in answer.cookies)


def test_a_forged_or_stale_cookie_is_anonymous(web, hub):
    session = web.login(hub.alice_token)
    value = session.split("=", 1)[1]
    forged = value.replace("alice", "bob", 1)
    for cookie in (
        f"{SESSION_COOKIE}={forged}",
        f"{SESSION_COOKIE}=alice.9999999999.00",
        f"{SESSION_COOKIE}=x",
    ):
        assert "Log out" not in web.get("/", cookie=cookie).text


def test_forms_from_another_origin_are_refused(web, hub):
    answer = web.post("/login", {"token": hub.alice_token}, headers={"Origin": "http://evil.example"})
    assert answer.status == 403 and not answer.cookies


def test_a_login_body_over_its_limit_is_413(web):
    assert web.post("/login", {"token": "x" * 10_000}).status == 413


@pytest.mark.parametrize("path", ["/", "/login", "/alice", "/nobody-here", "/alice/does-not-exist"])
def test_every_page_carries_a_policy_without_script(web, path):
    answer = web.get(path)
    assert answer.headers["content-security-policy"] == CSP
    assert "script-src" not in CSP and "unsafe-inline" not in CSP
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script" not in answer.text


def test_the_stylesheet_and_icon_are_served_and_nothing_else(web):
    answer = web.get("/front/style.css")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/css")
    assert web.get("/front/favicon.svg").headers["content-type"] == "image/svg+xml"
    assert web.get("/front/..%2Frender.py").status == 404
    assert web.get("/front/routes.py").status == 404


def test_pages_never_shadow_the_api_or_downloads(web, api, name, hub):
    repo = f"alice/{name}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"<script>alert(1)</script>", path_in_repo="x.html", repo_id=repo)
    info = web.get(f"/api/models/{repo}", token=hub.alice_token)
    assert info.status == 200 and json.loads(info.text)["id"] == repo
    download = web.get(f"/{repo}/resolve/main/x.html")
    assert download.status == 200 and download.text == "<script>alert(1)</script>"
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"
    missing = web.get("/api/no-such-route")
    assert missing.status == 404 and json.loads(missing.text)["error"].startswith("no route")
    assert web.get(f"/api/models/{repo}/no-such-thing").headers["content-type"] == "application/json"
    assert web.request("DELETE", f"/{repo}").headers["content-type"] == "application/json"
    assert web.get(f"/{repo}").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path", ["/api", "/datasets", "/models", "/login/x", "/a/b/c/d", "/%00", "/..%2F..%2Fetc"]
)
def test_odd_paths_are_one_line_404s(web, path):
    answer = web.get(path)
    assert answer.status in (404, 405), (path, answer.status)


def test_an_unread_body_closes_the_connection(web, hub):
    big = web.post("/login", {"token": "x" * 10_000})
    assert big.status == 413 and big.headers["connection"] == "close"
    answer = web.request("GET", "/", b"x" * 100, {"Content-Length": "100"})
    assert answer.status == 200 and answer.headers["connection"] == "close"
    assert "connection" not in web.get("/").headers
