"""Issue 17: inputs an operator found that hurt the server or leak data, sent through raw HTTP."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
from hubserver_helpers import ndjson_commit, request

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
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 400


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
    lines = [r.getMessage() for r in caplog.records if r.name == "hubrerank.server.access"]
    assert len(lines) == 2
    assert all(all(" " <= ch <= "~" for ch in line) for line in lines)
    assert "%0A" in lines[0]


def test_repo_data_is_not_readable_by_other_users(hub, repo):
    payload = ndjson_commit("modes", {"modes/a.txt": b"a"})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    assert stat.S_IMODE(hub.data_dir.stat().st_mode) == 0o700
    for folder, dirs, files in os.walk(hub.data_dir):
        for name in dirs + files:
            mode = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
            assert mode & 0o077 == 0, (os.path.join(folder, name), oct(mode))


@pytest.mark.parametrize("author", ["..", "../..", "*", "alice/hard", "a[b]"])
def test_listing_author_must_be_a_namespace_name(hub, repo, author):
    from urllib.parse import quote

    status, _, _ = request(hub.url, "GET", f"/api/models?author={quote(author, safe='')}")
    assert status == 400
    assert request(hub.url, "GET", "/api/models?author=alice")[0] == 200


# ---- README front matter: linear scan, no YAML aliases


@pytest.mark.timeout(60)  # the backtracking regex needed hours for this; the line scan, milliseconds
@pytest.mark.parametrize("newlines", [4_000, 1_000_000])
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


@pytest.mark.parametrize("card", [ALIAS_BOMB, DEEP], ids=["aliases", "deep"])
def test_card_yaml_with_aliases_or_deep_nesting_is_refused(hub, repo, card):
    status, _, body = request(hub.url, "POST", "/api/validate-yaml", {"content": card})
    assert status == 400 and (b"alias" in body or b"deeper" in body)
    payload = ndjson_commit("card", {"README.md": card.encode()})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    status, _, body = request(hub.url, "GET", API)
    assert status == 200 and len(body) < 10_000
    assert "cardData" not in json.loads(body)


def test_cards_without_aliases_still_parse(hub, repo):
    card = "---\nlicense: mit\ntags: [a, b]\nmodel-index:\n- name: x\n  results: []\n---\n# Card\n"
    assert request(hub.url, "POST", "/api/validate-yaml", {"content": card})[0] == 200
    payload = ndjson_commit("card", {"README.md": card.encode()})
    assert request(hub.url, "POST", f"{API}/commit/main", payload, hub.alice_token)[0] == 200
    info = json.loads(request(hub.url, "GET", API)[2])
    assert info["cardData"]["tags"] == ["a", "b"] and "license:mit" in info["tags"]
