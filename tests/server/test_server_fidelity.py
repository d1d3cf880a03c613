"""Behaviours of huggingface.co the embedded Hub reproduces, through huggingface_hub and raw HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hubserver_helpers import request
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.alice_token)


@pytest.fixture
def repo(api, request) -> str:
    """A fresh model repo of alice named after the test."""
    repo_id = f"alice/fid-{request.node.name.replace('_', '-')[:60]}"
    api.create_repo(repo_id)
    return repo_id


def _preupload(hub, repo: str, paths: list[str], git_ignore: str | None = None) -> dict[str, bool]:
    body: dict = {"files": [{"path": p, "size": 3, "sample": "YWJj"} for p in paths]}
    if git_ignore is not None:
        body["gitIgnore"] = git_ignore
    status, _, answer = request(hub.url, "POST", f"/api/models/{repo}/preupload/main", body, hub.alice_token)
    assert status == 200, answer
    return {f["path"]: f["shouldIgnore"] for f in json.loads(answer)["files"]}


def test_preupload_honours_the_gitignore_sent_or_committed(hub, api, repo, tmp_path):
    rules = "*.log\n!keep.log\nbuild/\n/top.tmp\n"
    paths = [
        "a.log",
        "sub/b.log",
        "keep.log",
        "build/x.bin",
        "sub/build/y",
        "top.tmp",
        "sub/top.tmp",
        "ok.txt",
    ]
    expected = {p: p in ("a.log", "sub/b.log", "build/x.bin", "sub/build/y", "top.tmp") for p in paths}
    assert _preupload(hub, repo, paths, rules) == expected
    assert not any(_preupload(hub, repo, paths).values())  # no .gitignore yet
    api.upload_file(path_or_fileobj=rules.encode(), path_in_repo=".gitignore", repo_id=repo)
    assert _preupload(hub, repo, [*paths, ".gitignore"]) == {**expected, ".gitignore": False}
    (tmp_path / "skip.log").write_text("x")
    (tmp_path / "kept.txt").write_text("y")
    api.upload_folder(folder_path=tmp_path, repo_id=repo)
    assert set(api.list_repo_files(repo)) == {".gitattributes", ".gitignore", "kept.txt"}


@pytest.mark.parametrize(
    ("card", "status", "errors", "warnings"),
    [
        ("---\nmodel-index: foo\n---\ntext", 400, ['"model-index" must be an array'], []),
        ("---\nmodel-index:\n- results: []\n---\n", 400, ['"model-index[0].name" is required'], []),
        ("---\nmodel-index:\n- name: m\n  results: []\nlicense: mit\n---\n", 200, [], []),
        ("no metadata at all", 200, [], ["empty or missing yaml metadata in repo card"]),
        ("---\n---\ntext", 200, [], ["empty or missing yaml metadata in repo card"]),
    ],
)
def test_validate_yaml_answers_like_the_hub(hub, card, status, errors, warnings):
    answer = request(hub.url, "POST", "/api/validate-yaml", {"content": card, "repoType": "model"})
    assert answer[0] == status
    body = json.loads(answer[2])
    assert [e["message"] for e in body["errors"]] == errors
    assert [w["message"] for w in body["warnings"]] == warnings


def test_validate_yaml_in_plain_text_and_through_the_client(hub, api, repo):
    card = "---\nmodel-index: foo\n---\n"
    answer = request(
        hub.url, "POST", "/api/validate-yaml", {"content": card}, headers={"Accept": "text/plain"}
    )
    assert answer[0] == 400 and answer[2] == b'- Error: "model-index" must be an array'
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo)
    with pytest.warns(UserWarning, match="empty or missing yaml metadata"):
        api.upload_file(path_or_fileobj=b"plain card", path_in_repo="README.md", repo_id=repo)


def test_repo_ids_are_case_insensitive(hub, api):
    api.create_repo("alice/Case-X")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo("alice/case-x")
    assert error.value.response.status_code == 409
    assert api.create_repo("ALICE/case-X", exist_ok=True).repo_id  # exist_ok reads the 409's url
    api.upload_file(path_or_fileobj=b"hi", path_in_repo="a.txt", repo_id="alice/CASE-x")
    assert api.model_info("Alice/case-x").id == "alice/Case-X"
    assert Path(hf_hub_download("alice/case-X", "a.txt")).read_bytes() == b"hi"
    api.delete_repo("alice/case-x")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/Case-X")


def test_move_repo_and_its_conflict(hub, api, repo):
    api.upload_file(path_or_fileobj=b"moved", path_in_repo="m.txt", repo_id=repo)
    api.update_repo_settings(repo, private=True)
    api.move_repo(repo, "acme/fid-moved")
    assert api.list_repo_files("acme/fid-moved") == [".gitattributes", "m.txt"]
    # the old id redirects (307) to the new one, for downloads and the API, as on the Hub
    assert Path(hf_hub_download(repo, "m.txt", token=hub.alice_token)).read_bytes() == b"moved"
    assert api.model_info(repo).id == "acme/fid-moved"
    bob_answer = request(hub.url, "GET", f"/api/models/{repo}", token=hub.bob_token)
    assert bob_answer[0] == 404 and b"fid-moved" not in bob_answer[2]  # private: nothing leaks
    api.update_repo_settings("acme/fid-moved", private=False)
    api.create_repo("alice/fid-move-target")
    with pytest.raises(
        HfHubHTTPError, match="A model repository called alice/fid-move-target already exists"
    ):
        api.move_repo("acme/fid-moved", "alice/fid-move-target")
    bob = HfApi(endpoint=hub.url, token=hub.bob_token)
    with pytest.raises(HfHubHTTPError) as error:
        bob.move_repo("acme/fid-moved", "bob/stolen")
    assert error.value.response.status_code == 403


def test_super_squash_history_keeps_the_tree_and_other_branches(api, repo):
    for content in (b"1", b"2"):
        api.upload_file(path_or_fileobj=content, path_in_repo="f.txt", repo_id=repo)
    api.create_branch(repo, branch="keep")
    api.super_squash_history(repo)
    commits = api.list_repo_commits(repo)
    assert [c.title for c in commits] == ["Super-squash branch 'main' using huggingface_hub"]
    assert len(api.list_repo_commits(repo, revision="keep")) == 3
    assert Path(hf_hub_download(repo, "f.txt")).read_bytes() == b"2"


def test_short_shas_first_author_folder_delete_and_shared_ref_names(hub, api, repo):
    initial = api.list_repo_commits(repo)
    assert [a for c in initial for a in c.authors] == ["alice"]  # the creator, not "system"
    info = api.upload_folder(
        folder_path=_folder(hub, {"dir/a.txt": b"a", "dir/sub/b.txt": b"b"}), repo_id=repo
    )
    short = info.oid[:7]
    assert Path(hf_hub_download(repo, "dir/a.txt", revision=short)).read_bytes() == b"a"
    api.create_tag(repo, tag="v1", revision=short)
    api.create_branch(repo, branch="v1")  # a branch may share a tag's name
    api.create_branch(repo, branch="dev")
    api.create_tag(repo, tag="dev")  # and a tag a branch's
    api.create_commit(repo, [CommitOperationDelete("dir")], commit_message="no trailing slash")
    assert api.list_repo_files(repo) == [".gitattributes"]
    assert "dir/a.txt" in api.list_repo_files(repo, revision="v1")


def _folder(hub, files: dict[str, bytes]):
    folder = hub.data_dir.parent / f"folder-{len(files)}-{sorted(files)[0].replace('/', '-')}"
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


def test_hub_error_texts_clients_match(hub, api, repo):
    parent = api.model_info(repo).sha
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id=repo)
    with pytest.raises(HfHubHTTPError, match="The branch was updated since you opened this page"):
        api.create_commit(repo, [CommitOperationAdd("y", b"y")], commit_message="m", parent_commit=parent)
    api.create_branch(repo, branch="b")
    with pytest.raises(HfHubHTTPError, match="Reference refs/heads/b already exists"):
        api.create_branch(repo, branch="b")
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(repo, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(repo, branch="missing")
    with pytest.raises(RepositoryNotFoundError) as error:
        api.model_info("alice/fid-missing")
    request_id = error.value.response.headers["X-Request-Id"]
    assert str(error.value).startswith(
        f"404 Client Error. (Request ID: {request_id})\n\nRepository Not Found for"
    )
    assert "Repository not found" not in str(error.value)  # the Hub's words, so not repeated


@pytest.mark.parametrize(
    "path", ["/api/models/gpt2", "/api/datasets/squad/revision/main", "/gpt2/resolve/main/x"]
)
def test_ids_without_namespace_are_404_repo_not_found(hub, path):
    for token in (None, hub.alice_token):
        status, headers, _ = request(hub.url, "GET", path, token=token)
        assert (status, headers["x-error-code"]) == (404, "RepoNotFound")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/whoami-v2"), ("GET", "/api/models/alice/nope"), ("PATCH", "/nowhere")]
)
def test_every_answer_has_a_request_id(hub, method, path):
    ids = {request(hub.url, method, path, token=hub.alice_token)[1]["x-request-id"] for _ in range(2)}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


def test_auth_check(hub, api, repo):
    api.auth_check(repo)
    api.auth_check(repo, write=True)
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check("alice/fid-no-such-repo")
    bob = HfApi(endpoint=hub.url, token=hub.bob_token)
    bob.auth_check(repo)
    with pytest.raises(HfHubHTTPError) as error:
        bob.auth_check(repo, write=True)
    assert error.value.response.status_code == 403


def test_list_and_permanently_delete_lfs_files(api, repo):
    api.upload_file(path_or_fileobj=b"LFS content", path_in_repo="a.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"LFS content 2", path_in_repo="b.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"text", path_in_repo="t.txt", repo_id=repo)
    api.create_branch(repo, branch="side")
    api.upload_file(path_or_fileobj=b"LFS side", path_in_repo="s.bin", repo_id=repo, revision="side")
    api.create_tag(repo, tag="v1", revision="side")
    files = list(api.list_lfs_files(repo))
    assert {(f.filename, f.ref) for f in files} == {
        ("a.bin", "refs/heads/main"),
        ("b.bin", "refs/heads/main"),
        ("s.bin", "refs/heads/side"),
    }
    api.permanently_delete_lfs_files(repo, [f for f in files if f.ref == "refs/heads/main"])
    assert [f.filename for f in api.list_lfs_files(repo)] == ["s.bin"]
    for revision in ("main", "side", "v1"):
        assert "a.bin" not in api.list_repo_files(repo, revision=revision)
    assert "t.txt" in api.list_repo_files(repo, revision="v1")
    assert len(api.list_repo_commits(repo)) == 4  # history kept, rewritten without the files


def test_likes_follow_their_repo_and_respect_privacy(hub, api, repo):
    bob = HfApi(endpoint=hub.url, token=hub.bob_token)
    private = api.create_repo(f"{repo}-private", private=True).repo_id
    for liked in (repo, private):
        assert request(hub.url, "POST", f"/api/models/{liked}/like", token=hub.alice_token)[0] == 200
    assert request(hub.url, "POST", f"/api/models/{repo}/like", token=hub.bob_token)[0] == 200
    assert request(hub.url, "POST", f"/api/models/{repo}/like")[0] == 401  # anonymous
    assert {repo, private} <= set(api.list_liked_repos().models)
    seen_by_bob = bob.list_liked_repos("alice").models
    assert repo in seen_by_bob and private not in seen_by_bob
    assert {u.username for u in api.list_repo_likers(repo)} == {"alice", "bob"}
    api.move_repo(repo, f"{repo}-moved")
    assert f"{repo}-moved" in api.list_liked_repos().models  # a like follows a moved repo
    bob.unlike(f"{repo}-moved")
    assert [u.username for u in api.list_repo_likers(f"{repo}-moved")] == ["alice"]
    api.delete_repo(f"{repo}-moved")
    assert f"{repo}-moved" not in api.list_liked_repos().models
    with pytest.raises(RepositoryNotFoundError):
        api.unlike("alice/never-created")
    with pytest.raises(RepositoryNotFoundError):
        api.unlike("no-namespace")
    assert request(hub.url, "GET", "/api/users/nobody/likes")[0] == 404


def test_commits_formatted_and_unnamespaced(api, repo):
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo, commit_message="a <b> & c")
    plain = api.list_repo_commits(repo)
    assert all(c.formatted_title is None for c in plain)
    formatted = api.list_repo_commits(repo, formatted=True)
    assert formatted[0].formatted_title == "a &lt;b&gt; &amp; c" and formatted[0].formatted_message == ""
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_commits("no-namespace")


def test_invalid_paths_to_write_are_422_as_on_the_hub(api, repo):
    with pytest.raises(HfHubHTTPError) as caught:
        api.upload_file(path_or_fileobj=b"content", path_in_repo="..\\ddd", repo_id=repo)
    assert caught.value.response.status_code == 422
