"""Discussions and pull requests on the embedded Hub, driven by huggingface_hub's own client."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hubserver_helpers import request

ALICE, BOB, CAROL = "hrk_alice_" + "d" * 30, "hrk_bob_" + "d" * 30, "hrk_carol_" + "d" * 30
_REPO_NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own (gc and restarts must not touch the session's data dir): alice owns the
    repos, bob and carol only read them."""
    from hubrerank.server import HubServer, UserSpec

    data = tmp_path_factory.mktemp("discussions") / "data"
    users = [UserSpec("alice", ALICE), UserSpec("bob", BOB), UserSpec("carol", CAROL)]
    hub = HubServer(data, users=users).start()
    yield hub
    hub.stop()


def _api(server, token: str | None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=server.url, token=token if token else False)


@pytest.fixture
def repo(server):
    """A fresh public model repo of alice's, with README.md and notes.txt on main."""
    from huggingface_hub import CommitOperationAdd

    alice = _api(server, ALICE)
    repo_id = f"alice/talk-{next(_REPO_NUMBERS)}"
    alice.create_repo(repo_id)
    files = {"README.md": b"---\nlicense: mit\n---\n# model\n", "notes.txt": b"one\ntwo\nthree\n"}
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    alice.create_commit(repo_id, operations, commit_message="start")
    return repo_id


def test_discussion_lifecycle(server, repo):
    from huggingface_hub.errors import HfHubHTTPError

    alice, bob, carol = _api(server, ALICE), _api(server, BOB), _api(server, CAROL)
    first = bob.create_discussion(repo, title=" A question  ", description="Why?")
    carol.create_discussion(repo, title="Another one")
    assert (first.num, first.title, first.author, first.status) == (1, "A question", "bob", "open")
    assert first.is_pull_request is False and first.url.endswith(f"/{repo}/discussions/1")
    assert [d.num for d in alice.get_repo_discussions(repo)] == [2, 1]
    assert [d.num for d in alice.get_repo_discussions(repo, author="bob")] == [1]

    comment = alice.comment_discussion(repo, 1, "Because.")
    opening = first.events[0]
    edited = bob.edit_discussion_comment(repo, 1, opening.id, "Why, exactly?")
    assert edited.edited and edited.content == "Why, exactly?" and edited.number_of_edits == 1
    with pytest.raises(HfHubHTTPError) as refused:  # not alice's comment
        alice.edit_discussion_comment(repo, 1, opening.id, "rewritten")
    assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused:  # only writers hide
        bob.hide_discussion_comment(repo, 1, comment.id)
    assert refused.value.response.status_code == 403
    hidden = alice.hide_discussion_comment(repo, 1, opening.id)
    assert hidden.hidden and "Why" not in json.dumps(hidden._event)

    renamed = bob.rename_discussion(repo, 1, "A better question")
    assert (renamed.old_title, renamed.new_title) == ("A question", "A better question")
    with pytest.raises(HfHubHTTPError) as refused:  # carol neither wrote #1 nor writes the repo
        carol.change_discussion_status(repo, 1, "closed")
    assert refused.value.response.status_code == 403
    bob.change_discussion_status(repo, 1, "closed", comment="Answered")
    alice.change_discussion_status(repo, 2, "closed")
    carol.change_discussion_status(repo, 2, "open")

    details = alice.get_discussion_details(repo, 1)
    assert details.title == "A better question" and details.status == "closed"
    assert [e.type for e in details.events] == [
        "comment",
        "comment",
        "title-change",
        "comment",
        "status-change",
    ]
    assert details.events[0].hidden and details.events[0].content != "Why, exactly?"
    assert [d.num for d in alice.get_repo_discussions(repo, discussion_status="closed")] == [1]
    assert [d.num for d in alice.get_repo_discussions(repo, discussion_status="open")] == [2]


def test_pull_request_by_a_reader_merged_by_a_writer(server, repo, tmp_path):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, hf_hub_download, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    alice, bob = _api(server, ALICE), _api(server, BOB)
    operations = [
        CommitOperationAdd("notes.txt", b"one\n2\nthree\n"),
        CommitOperationAdd("weights.safetensors", b"\x00" * 2048),
        CommitOperationDelete("README.md"),
    ]
    info = bob.create_commit(repo, operations, commit_message="Fix notes", create_pr=True)
    assert (info.pr_num, info.pr_revision) == (1, "refs/pr/1")
    assert info.pr_url == f"{server.url}/{repo}/discussions/1"

    pr = bob.get_discussion_details(repo, 1)
    assert pr.is_pull_request and pr.status == "open" and pr.target_branch == "refs/heads/main"
    assert pr.conflicting_files == [] and pr.merge_commit_oid is None
    assert [e.type for e in pr.events] == ["comment", "commit"] and pr.events[1].oid == info.oid
    assert "diff --git a/notes.txt b/notes.txt" in pr.diff and "-two\n+2\n" in pr.diff
    assert "deleted file mode 100644" in pr.diff and "oid sha256:" in pr.diff  # the LFS pointer

    # refs/pr/1 reads like a branch, by every download path
    path = hf_hub_download(
        repo, "notes.txt", revision="refs/pr/1", endpoint=server.url, cache_dir=tmp_path, token=BOB
    )
    assert Path(path).read_bytes() == b"one\n2\nthree\n"
    snapshot = snapshot_download(
        repo, revision="refs/pr/1", endpoint=server.url, cache_dir=tmp_path, token=BOB
    )
    assert sorted(p.name for p in Path(snapshot).iterdir()) == [
        ".gitattributes",
        "notes.txt",
        "weights.safetensors",
    ]
    assert "README.md" in bob.list_repo_files(repo)  # main is untouched
    refs = bob.list_repo_refs(repo, include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", info.oid)]
    assert [c.title for c in bob.list_repo_commits(repo, revision="refs/pr/1")][:2] == ["Fix notes", "start"]

    with pytest.raises(HfHubHTTPError) as refused:
        bob.merge_pull_request(repo, 1)
    assert refused.value.response.status_code == 403
    bob.upload_file(path_or_fileobj=b"more", path_in_repo="more.txt", repo_id=repo, revision="refs/pr/1")
    alice.merge_pull_request(repo, 1, comment="Thanks")

    merged = alice.get_discussion_details(repo, 1)
    assert merged.status == "merged" and merged.merge_commit_oid == alice.repo_info(repo).sha
    assert set(alice.list_repo_files(repo)) == {
        ".gitattributes",
        "notes.txt",
        "weights.safetensors",
        "more.txt",
    }
    assert alice.list_repo_commits(repo)[0].title == "Fix notes (#1)"
    with pytest.raises(HfHubHTTPError):  # merged: no more commits
        bob.upload_file(path_or_fileobj=b"late", path_in_repo="late.txt", repo_id=repo, revision="refs/pr/1")


def test_commits_to_a_pull_request_by_its_author_or_writers_only(server, repo):
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError

    alice, bob, carol = _api(server, ALICE), _api(server, BOB), _api(server, CAROL)
    pr = bob.create_pull_request(repo, title="Draft work")
    assert pr.status == "draft" and pr.git_reference == "refs/pr/1"
    bob.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo, revision=pr.git_reference)
    alice.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo, revision=pr.git_reference)
    with pytest.raises(HfHubHTTPError) as refused:
        carol.upload_file(path_or_fileobj=b"c", path_in_repo="c.txt", repo_id=repo, revision=pr.git_reference)
    assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused:  # a draft is published before it merges
        alice.merge_pull_request(repo, 1)
    assert refused.value.response.status_code == 400 and "draft" in refused.value.server_message
    carol.create_discussion(repo, title="Not a PR")
    with pytest.raises(RevisionNotFoundError):
        alice.create_commit(repo, [CommitOperationAdd("x", b"x")], commit_message="x", revision="refs/pr/2")
    with pytest.raises(RevisionNotFoundError):
        alice.create_commit(repo, [CommitOperationAdd("x", b"x")], commit_message="x", revision="refs/pr/9")
    for revision in (alice.repo_info(repo).sha, "missing"):  # a pull request targets a branch
        with pytest.raises(RevisionNotFoundError):
            bob.create_commit(
                repo, [CommitOperationAdd("x", b"x")], commit_message="x", revision=revision, create_pr=True
            )
    assert [d.num for d in alice.get_repo_discussions(repo, discussion_type="pull_request")] == [1]


def test_conflicting_merge_is_refused_and_changes_nothing(server, repo):
    from huggingface_hub.errors import HfHubHTTPError

    alice, bob = _api(server, ALICE), _api(server, BOB)
    bob.upload_file(path_or_fileobj=b"pr\n", path_in_repo="notes.txt", repo_id=repo, create_pr=True)
    bob.upload_file(path_or_fileobj=b"pr too\n", path_in_repo="other.txt", repo_id=repo, create_pr=True)
    alice.upload_file(path_or_fileobj=b"main\n", path_in_repo="notes.txt", repo_id=repo)
    head = alice.repo_info(repo).sha

    assert alice.get_discussion_details(repo, 1).conflicting_files == ["notes.txt"]
    with pytest.raises(HfHubHTTPError) as refused:
        alice.merge_pull_request(repo, 1)
    assert refused.value.response.status_code == 409 and "notes.txt" in refused.value.server_message
    assert alice.repo_info(repo).sha == head and alice.get_discussion_details(repo, 1).status == "open"

    alice.merge_pull_request(repo, 2)  # a file main did not touch merges on top of main's change
    assert alice.list_repo_files(repo) == [".gitattributes", "README.md", "notes.txt", "other.txt"]


def test_private_repo_discussions_are_hidden(server):
    from huggingface_hub.errors import RepositoryNotFoundError

    alice, bob, anonymous = _api(server, ALICE), _api(server, BOB), _api(server, None)
    alice.create_repo("alice/secret-discussions", private=True)
    alice.create_discussion("alice/secret-discussions", title="Internal")
    for caller in (bob, anonymous):
        with pytest.raises(RepositoryNotFoundError):
            list(caller.get_repo_discussions("alice/secret-discussions"))
        with pytest.raises(RepositoryNotFoundError):
            caller.get_discussion_details("alice/secret-discussions", 1)
    with pytest.raises(RepositoryNotFoundError):
        bob.create_discussion("alice/secret-discussions", title="Let me in")
    with pytest.raises(RepositoryNotFoundError):
        bob.create_commit("alice/secret-discussions", [], commit_message="x", create_pr=True)
    status, _, _ = request(
        server.url, "POST", "/api/models/alice/secret-discussions/discussions", {"title": "x"}
    )
    assert status == 401


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("discussions", {"title": 42}, 400, "'title' must be a string"),
        ("discussions", {"title": "ab"}, 400, "'title' must be 3 to 200 characters"),
        ("discussions", {"title": "x" * 201}, 400, "'title' must be 3 to 200 characters"),
        ("discussions", {"title": "fine", "description": "x" * 70000}, 400, "'description' is 70000"),
        ("discussions/1/comment", {"comment": ""}, 400, "'comment' must not be empty"),
        ("discussions/1/comment", {"comment": ["x"]}, 400, "'comment' must be a string"),
        ("discussions/1/status", {"status": "merged"}, 400, "'status' must be 'open' or 'closed'"),
        ("discussions/7/comment", {"comment": "hello"}, 404, "has no discussion #7"),
        ("discussions/abc/comment", {"comment": "hello"}, 400, "must be a positive integer"),
        ("discussions/1/comment/deadbeef/edit", {"content": "x"}, 404, "has no comment 'deadbeef'"),
    ],
)
def test_bad_input_is_one_clear_error_and_stores_nothing(server, repo, path, body, status, words):
    _api(server, BOB).create_discussion(repo, title="The one")
    before = _api(server, ALICE).get_discussion_details(repo, 1)
    code, _, answer = request(server.url, "POST", f"/api/models/{repo}/{path}", body, BOB)
    assert code == status, answer
    assert words in json.loads(answer)["error"]
    assert _api(server, ALICE).get_discussion_details(repo, 1) == before
    assert [d.num for d in _api(server, ALICE).get_repo_discussions(repo)] == [1]


def test_unknown_repos_are_repo_not_found(server):
    from huggingface_hub.errors import RepositoryNotFoundError

    for repo_id in ("alice/no-such-repo", "no-namespace"):
        with pytest.raises(RepositoryNotFoundError):
            list(_api(server, BOB).get_repo_discussions(repo_id))
        with pytest.raises(RepositoryNotFoundError):
            _api(server, BOB).create_discussion(repo_id, title="Anyone?")


def test_listing_pages_and_filters(server, repo):
    code, _, answer = request(server.url, "GET", f"/api/models/{repo}/discussions?p=x")
    assert code == 400 and b"'p' must be a page number" in answer
    code, _, answer = request(server.url, "GET", f"/api/models/{repo}/discussions?status=maybe")
    assert code == 400 and b"'status' must be one of" in answer
    bob = _api(server, BOB)
    for i in range(55):
        bob.create_discussion(repo, title=f"Question {i}")
    _, _, page = request(server.url, "GET", f"/api/models/{repo}/discussions?p=1")
    listed = json.loads(page)
    assert (listed["count"], listed["start"], len(listed["discussions"])) == (55, 50, 5)
    assert [d.num for d in bob.get_repo_discussions(repo)] == list(range(55, 0, -1))  # the client pages


def test_gc_keeps_a_pull_requests_blobs_and_refs_survive_history_rewrites(server, repo, tmp_path):
    from huggingface_hub import hf_hub_download

    from hubrerank.server.gc import collect

    alice, bob = _api(server, ALICE), _api(server, BOB)
    data = b"\x01\x02" * 5000
    bob.upload_file(path_or_fileobj=data, path_in_repo="pr.bin", repo_id=repo, create_pr=True)
    alice.super_squash_history(repo)
    collect(server.data_dir, grace_s=0)
    path = hf_hub_download(
        repo, "pr.bin", revision="refs/pr/1", endpoint=server.url, cache_dir=tmp_path, token=BOB
    )
    assert Path(path).read_bytes() == data
    alice.super_squash_history(repo, branch="refs/pr/1")  # as on the Hub, a PR's ref squashes too
    assert len(alice.list_repo_commits(repo, revision="refs/pr/1")) == 1
    collect(server.data_dir, grace_s=0)
    pr = alice.get_discussion_details(repo, 1)  # no shared commit left: every file counts as added
    assert pr.diff.count("new file mode") == 4 and pr.conflicting_files == []
    alice.merge_pull_request(repo, 1)  # the same files on both sides do not conflict
    assert alice.hf_hub_download(repo, "pr.bin", cache_dir=tmp_path) and len(alice.list_repo_files(repo)) == 4


def test_permanently_deleting_lfs_files_rewrites_pull_requests_too(server, repo):
    alice, bob = _api(server, ALICE), _api(server, BOB)
    bob.upload_file(path_or_fileobj=b"secret" * 100, path_in_repo="leak.bin", repo_id=repo, create_pr=True)
    pr_head = alice.list_repo_refs(repo, include_pull_requests=True).pull_requests[0].target_commit
    lfs = list(alice.list_lfs_files(repo))
    assert [(f.filename, f.ref) for f in lfs] == [("leak.bin", "refs/pr/1")]
    alice.permanently_delete_lfs_files(repo, lfs)
    refs = alice.list_repo_refs(repo, include_pull_requests=True)
    assert refs.pull_requests[0].target_commit != pr_head
    assert "leak.bin" not in alice.list_repo_files(repo, revision="refs/pr/1")
    assert alice.list_repo_files(repo, revision="refs/pr/1") == alice.list_repo_files(repo)


def test_discussions_survive_a_restart(tmp_path):
    from hubrerank.server import HubServer, UserSpec

    users = [UserSpec("alice", ALICE), UserSpec("bob", BOB)]
    first = HubServer(tmp_path / "data", users=users).start()
    try:
        _api(first, ALICE).create_repo("alice/kept")
        _api(first, BOB).upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/kept", create_pr=True
        )
        before = _api(first, BOB).get_discussion_details("alice/kept", 1)
    finally:
        first.stop()
    second = HubServer(tmp_path / "data", users=users).start()
    try:
        after = _api(second, BOB).get_discussion_details("alice/kept", 1)
        assert (after.title, after.events, after.diff) == (before.title, before.events, before.diff)
        assert _api(second, ALICE).list_repo_refs("alice/kept", include_pull_requests=True).pull_requests
    finally:
        second.stop()


def test_moving_or_deleting_a_repo_takes_its_discussions(server):
    from huggingface_hub.errors import HfHubHTTPError

    alice = _api(server, ALICE)
    alice.create_repo("alice/moving-discussions")
    alice.create_discussion("alice/moving-discussions", title="Follow me")
    alice.move_repo("alice/moving-discussions", "alice/moved-discussions")
    assert [d.title for d in alice.get_repo_discussions("alice/moved-discussions")] == ["Follow me"]
    alice.delete_repo("alice/moved-discussions")
    alice.create_repo("alice/moved-discussions")
    assert list(alice.get_repo_discussions("alice/moved-discussions")) == []
    with pytest.raises(HfHubHTTPError):
        alice.get_discussion_details("alice/moved-discussions", 1)


def test_two_servers_on_one_data_dir_number_discussions_without_collisions(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from huggingface_hub import CommitOperationAdd

    from hubrerank.server import HubServer, UserSpec

    users = [UserSpec("alice", ALICE), UserSpec("bob", BOB)]
    servers = [HubServer(tmp_path / "data", users=users).start() for _ in range(2)]
    try:
        _api(servers[0], ALICE).create_repo("alice/busy")

        def open_one(i: int) -> int:
            api = _api(servers[i % 2], BOB)
            if i % 3:
                return api.create_discussion("alice/busy", title=f"Question {i}").num
            change = [CommitOperationAdd(f"{i}.txt", b"x")]
            return api.create_commit("alice/busy", change, commit_message=f"PR {i}", create_pr=True).pr_num

        with ThreadPoolExecutor(8) as pool:
            nums = list(pool.map(open_one, range(24)))
        assert sorted(nums) == list(range(1, 25))
        refs = _api(servers[1], ALICE).list_repo_refs("alice/busy", include_pull_requests=True)
        assert len(refs.pull_requests) == 8
    finally:
        for server in servers:
            server.stop()
