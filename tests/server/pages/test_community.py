"""The community tab: discussions and pull requests listed, one shown with its events and diff."""

from __future__ import annotations

import pytest
from huggingface_hub import CommitOperationAdd


@pytest.fixture
def repo(api, name) -> str:
    repo_id = f"alice/{name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"a\nb\n", path_in_repo="notes.txt", repo_id=repo_id)
    return repo_id


def test_a_discussion_shows_comments_sanitised_and_its_events(web, api, bob, repo):
    opened = bob.create_discussion(repo, title="Question", description="**Hi** <script>alert(1)</script>")
    api.comment_discussion(
        repo, opened.num, comment="[evil](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    hidden = bob.comment_discussion(repo, opened.num, comment="spam")
    api.hide_discussion_comment(repo, opened.num, hidden.id)
    api.rename_discussion(repo, opened.num, new_title="A better question")
    api.change_discussion_status(repo, opened.num, new_status="closed")
    page = web.get(f"/{repo}/discussions/{opened.num}")
    assert page.status == 200
    assert "<strong>Hi</strong>" in page.text
    assert "<script" not in page.text and "onerror" not in page.text and 'href="javascript' not in page.text
    assert "This comment has been hidden" in page.text and "spam" not in page.text
    assert "renamed it from “Question” to “A better question”" in page.text
    assert 'changed the status to <span class="status status-closed">closed' in page.text


def test_a_pull_request_shows_its_commits_and_diff(web, api, bob, repo):
    operation = CommitOperationAdd("notes.txt", b"a\nc\n")
    bob.create_commit(repo, operations=[operation], commit_message="Change b to c", create_pr=True)
    page = web.get(f"/{repo}/discussions/1")
    assert "pull request by bob into <code>main</code>" in page.text
    assert "Change b to c" in page.text and "committed" in page.text
    assert "Files changed (1)" in page.text
    assert '<tr class="del"><td>-b</td></tr>' in page.text and '<tr class="add"><td>+c</td></tr>' in page.text
    assert f'href="/{repo}/tree/refs%2Fpr%2F1"' in page.text
    assert web.get(f"/{repo}/tree/refs%2Fpr%2F1").status == 200
    api.merge_pull_request(repo, 1)
    merged = web.get(f"/{repo}/discussions/1")
    assert "merged as" in merged.text


def test_the_list_filters_by_status(web, api, bob, repo):
    first = bob.create_discussion(repo, title="Open one")
    second = bob.create_discussion(repo, title="Closed one")
    api.change_discussion_status(repo, second.num, new_status="closed")
    open_page, closed, every = (web.get(f"/{repo}/discussions?status={s}") for s in ("open", "closed", "all"))
    assert f"#{first.num} Open one" in open_page.text and "Closed one" not in open_page.text
    assert "Closed one" in closed.text and f"#{first.num} Open one" not in closed.text
    assert "Open one" in every.text and "Closed one" in every.text
    assert 'Community <span class="count">2</span>' in every.text


@pytest.mark.parametrize("num", ["999", "0", "abc", "1" * 30, "-1"])
def test_a_missing_discussion_is_a_404(web, repo, num):
    assert web.get(f"/{repo}/discussions/{num}").status == 404
