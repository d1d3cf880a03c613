"""Files and history pages: tree, blob, commits, commit; a 10,000-file repo stays one bounded page."""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from hubrerank.server.pages.files import COMMITS_PAGE, MAX_LINES, TREE_PAGE


@pytest.fixture
def repo(api, web, hub, name) -> str:
    """alice's model with nested folders, a Markdown file, HTML-looking text, an image, a long text."""
    repo_id = f"alice/{name}"
    api.create_repo(repo_id)
    files = {
        "README.md": b"# Card\n",
        "docs/guide.md": b"# Guide\n\n![fig](img/fig.png) [back](../README.md)\n",
        "docs/img/fig.png": b"\x89PNG\r\n\x1a\n",
        "page.html": b"<script>alert(1)</script>\n<b>bold</b>\n",
        "long.txt": "".join(f"line {i}\n" for i in range(MAX_LINES + 10)).encode(),
    }
    web.commit(hub.alice_token, repo_id, files)
    api.upload_file(path_or_fileobj=b"\x00" * 2048, path_in_repo="weights.bin", repo_id=repo_id)
    return repo_id


def test_a_folder_lists_folders_then_files_with_links(web, repo):
    page = web.get(f"/{repo}/tree/main")
    assert page.status == 200
    names = re.findall(r'<td><a href="[^"]*">([^<]+)</a></td>', page.text)
    assert names == ["docs/", ".gitattributes", "README.md", "long.txt", "page.html", "weights.bin"]
    assert f'href="/{repo}/tree/main/docs"' in page.text
    assert f'href="/{repo}/blob/main/README.md"' in page.text
    nested = web.get(f"/{repo}/tree/main/docs/img")
    assert f'href="/{repo}/blob/main/docs/img/fig.png"' in nested.text
    assert f'href="/{repo}/tree/main/docs">docs</a>' in nested.text  # the breadcrumb
    assert web.get(f"/{repo}/tree/main/nope").status == 404
    assert web.get(f"/{repo}/tree/nope").status == 404


def test_a_branch_with_a_slash_is_one_segment(web, api, repo):
    api.create_branch(repo, branch="feature/x")
    page = web.get(f"/{repo}/tree/feature%2Fx")
    assert page.status == 200 and f'href="/{repo}/blob/feature%2Fx/README.md"' in page.text


def test_a_text_file_is_escaped_text_with_line_numbers(web, repo):
    page = web.get(f"/{repo}/blob/main/page.html")
    assert page.status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
    assert '<td class="ln">2</td><td>&lt;b&gt;bold&lt;/b&gt;</td>' in page.text
    assert f'href="/{repo}/resolve/main/page.html"' in page.text


def test_a_markdown_file_renders_with_links_from_its_folder(web, repo):
    page = web.get(f"/{repo}/blob/main/docs/guide.md")
    assert "<h1>Guide</h1>" in page.text
    assert f'src="/{repo}/resolve/main/docs/img/fig.png"' in page.text
    assert f'href="/{repo}/blob/main/README.md"' in page.text


def test_a_long_file_shows_its_first_lines(web, repo):
    page = web.get(f"/{repo}/blob/main/long.txt")
    assert f"Only the first {MAX_LINES} lines are shown" in page.text
    assert f"line {MAX_LINES - 1}<" in page.text and f"line {MAX_LINES}<" not in page.text


def test_an_lfs_file_shows_size_sha256_and_download(web, repo):
    page = web.get(f"/{repo}/blob/main/weights.bin")
    assert hashlib.sha256(b"\x00" * 2048).hexdigest() in page.text
    assert "2048 bytes" in page.text and f'href="/{repo}/resolve/main/weights.bin"' in page.text


def test_an_image_is_shown_as_an_image(web, repo):
    page = web.get(f"/{repo}/blob/main/docs/img/fig.png")
    assert f'<img src="/{repo}/resolve/main/docs/img/fig.png"' in page.text


def test_a_folder_as_blob_redirects_and_a_missing_file_is_404(web, repo):
    assert web.get(f"/{repo}/blob/main/docs").headers["location"] == f"/{repo}/tree/main/docs"
    assert web.get(f"/{repo}/blob/main/nope.txt").status == 404
    assert web.get(f"/{repo}/blob/main/%00").status == 404


def test_history_pages_and_a_commit_shows_its_changes(web, api, hub, name):
    repo_id = f"alice/{name}"
    api.create_repo(repo_id)
    for number in range(COMMITS_PAGE + 1):
        web.commit(hub.alice_token, repo_id, {"count.txt": f"{number}\n".encode()})
    first, second = web.get(f"/{repo_id}/commits/main"), web.get(f"/{repo_id}/commits/main?p=2")
    assert first.text.count("<strong>raw commit</strong>") == COMMITS_PAGE and 'rel="next"' in first.text
    assert "initial commit" in second.text and 'rel="next"' not in second.text
    head = api.repo_info(repo_id).sha
    commit = web.get(f"/{repo_id}/commit/{head}")
    assert commit.status == 200
    assert '<span class="tag">modified</span>' in commit.text
    assert (
        '<tr class="del"><td>-49</td></tr>' in commit.text
        and '<tr class="add"><td>+50</td></tr>' in commit.text
    )
    assert web.get(f"/{repo_id}/commit/{head[:7]}").status == 200
    assert web.get(f"/{repo_id}/commit/{'0' * 40}").status == 404


def test_a_10000_file_repo_pages_its_tree(web, api, hub, name):
    repo_id = f"alice/{name}"
    api.create_repo(repo_id)
    web.commit(hub.alice_token, repo_id, {f"shard-{i:05d}.txt": b"x" for i in range(10_000)})
    started = time.monotonic()
    page = web.get(f"/{repo_id}/tree/main")
    assert page.status == 200 and "10001 entries · page 1 of 51" in page.text
    assert page.text.count('<td><a href="') == TREE_PAGE
    last = web.get(f"/{repo_id}/tree/main?p=51")
    assert "shard-09999.txt" in last.text
    assert web.get(f"/{repo_id}").status == 200
    commit = web.get(f"/{repo_id}/commit/main")
    assert "10000 files changed" in commit.text and "and 9000 more." in commit.text
    assert time.monotonic() - started < 30  # four pages; benchmarks/pages.py measures three of them
