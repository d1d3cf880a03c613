"""A repo's files and history: ``tree/REV/PATH``, ``blob/REV/PATH``, ``commits/REV``, ``commit/SHA``.

Every page does bounded work whatever the repo holds: a folder of 10,000 files is listed
``TREE_PAGE`` entries a page, a file is shown as text only up to ``MAX_TEXT_BYTES`` and
``MAX_LINES`` lines (else its size, LFS sha256 and a download link), history ``COMMITS_PAGE``
commits a page, a commit's diff as the pull requests' (cut at ``pulls.MAX_DIFF_CHARS``) and at most
``MAX_DIFF_LINES`` lines of it.
"""

from __future__ import annotations

import functools
import itertools
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.responses import Response

from hubrerank.server.call import Failure
from hubrerank.server.objects import EntryNotFound, Repo, validate_path
from hubrerank.server.pages.render import Rendered, Where, render_markdown
from hubrerank.server.pages.repo import MAX_REVISION, header
from hubrerank.server.pages.routes import page_number
from hubrerank.server.pulls import tree_diff
from hubrerank.server.storage import Store
from hubrerank.server.views import folders

if TYPE_CHECKING:
    from hubrerank.server.call import Call
    from hubrerank.server.pages.routes import Pages

TREE_PAGE = 200  # entries per page of a folder
COMMITS_PAGE = 50
MAX_TEXT_BYTES = 1024 * 1024  # larger files are not shown as text
MAX_LINES = 5000
MAX_DIFF_LINES = 20_000
IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")  # shown as <img>: no script runs in one


@dataclass(frozen=True)
class TreeEntry:
    """A file or folder of a listing."""

    name: str
    path: str
    folder: bool
    size: int = 0
    lfs: bool = False


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff and how to show it: ``add``, ``del``, ``hunk``, ``meta`` or ``context``."""

    text: str
    kind: str


@dataclass(frozen=True)
class Change:
    """A file a commit added, deleted or modified."""

    path: str
    change: str


def diff_lines(text: str) -> tuple[list[DiffLine], bool]:
    """A unified diff as classified lines (at most ``MAX_DIFF_LINES``), and whether it was cut."""
    lines = []
    for line in itertools.islice(text.splitlines(), MAX_DIFF_LINES + 1):
        if line.startswith(("diff --git", "index ", "new file", "deleted file", "--- ", "+++ ", "Binary")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "context")
        lines.append(DiffLine(line, kind))
    return lines[:MAX_DIFF_LINES], len(lines) > MAX_DIFF_LINES


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """Each part of ``path`` with the path up to it: ``a/b`` -> ``[("a", "a"), ("b", "a/b")]``."""
    parts = [part for part in path.split("/") if part]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def _revision(call: Call) -> str:
    """The URL's revision; 404 if it is longer than any revision could be."""
    revision = call.params["rev"]
    if len(revision) > MAX_REVISION:
        raise Failure(404, f"revision of more than {MAX_REVISION} characters")
    return revision


@functools.lru_cache(maxsize=16)
def folder_listing(store: Store, repo: Repo, sha: str, folder: str) -> tuple[TreeEntry, ...] | None:
    """A folder of commit ``sha``: its folders, then its files, by name; None if there is no such
    folder. Cached (a commit never changes): paging through a 10,000-file folder walks it once."""
    prefix = folder + "/" if folder else ""
    subfolders: set[str] = set()
    found: list[TreeEntry] = []
    for path, entry in store.commit(repo, sha).tree.items():
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if "/" in rest:
                subfolders.add(rest.split("/", 1)[0])
            else:
                found.append(TreeEntry(rest, path, False, entry.size, entry.lfs))
    if folder and not (subfolders or found):
        return None
    listing = [TreeEntry(name, prefix + name, True) for name in sorted(subfolders)]
    return (*listing, *sorted(found, key=lambda item: item.name))


def tree(pages: Pages, call: Call, repo_type: str) -> Response:
    """A folder at a revision: its folders, then its files, ``TREE_PAGE`` a page."""
    state = pages.hub.readable(call, repo_type)
    revision = _revision(call)
    commit = pages.store.resolve(state, revision)
    folder = call.params.get("path", "").strip("/")
    if folder:
        validate_path(folder)
    listing = folder_listing(pages.store, state.repo, commit.id, folder)
    if listing is None:
        raise EntryNotFound(f"no folder {folder!r} in {state.repo.id} at {revision}")
    pages_count = max(1, -(-len(listing) // TREE_PAGE))
    number = min(page_number(call.request.query_params.get("p")), pages_count)
    crumbs = breadcrumbs(folder)
    return pages.render(
        call,
        "tree.html",
        top=header(pages, state, revision, commit, "files"),
        folder=folder,
        crumbs=crumbs,
        entries=listing[(number - 1) * TREE_PAGE : number * TREE_PAGE],
        total=len(listing),
        number=number,
        pages=pages_count,
    )


def blob(pages: Pages, call: Call, repo_type: str) -> Response:
    """A file at a revision: text with line numbers (Markdown also rendered), an image, or its size,
    LFS sha256 and a download link."""
    state = pages.hub.readable(call, repo_type)
    revision = _revision(call)
    commit = pages.store.resolve(state, revision)
    path = validate_path(call.params["path"])
    entry = commit.tree.get(path)
    if entry is None:
        if path in folders(commit.tree):
            location = f"/{state.repo.url_path}/tree/{call.request.path_params['rev']}/{quote(path)}"
            raise Failure(302, "a folder", headers={"Location": location})
        raise EntryNotFound(f"no file {path!r} in {state.repo.id} at {revision}")
    lines: list[str] = []
    cut = False
    rendered: Rendered | None = None
    if not entry.lfs and entry.size <= MAX_TEXT_BYTES:
        data = pages.store.read_blob(entry.sha256)
        if b"\x00" not in data:
            text = data.decode("utf-8", errors="replace")
            lines = text.splitlines()
            cut = len(lines) > MAX_LINES
            lines = lines[:MAX_LINES]
            if path.lower().endswith(".md"):
                where = Where(state.repo.url_path, revision, posixpath.dirname(path))
                rendered = render_markdown(text, where)
    crumbs = breadcrumbs(path)
    return pages.render(
        call,
        "blob.html",
        top=header(pages, state, revision, commit, "files"),
        path=path,
        crumbs=crumbs,
        entry=entry,
        lines=lines,
        cut=cut,
        rendered=rendered,
        image=path.lower().endswith(IMAGES),
    )


def commits(pages: Pages, call: Call, repo_type: str) -> Response:
    """A revision's history, newest first, ``COMMITS_PAGE`` commits a page."""
    state = pages.hub.readable(call, repo_type)
    revision = _revision(call)
    head = pages.store.resolve(state, revision)
    number = page_number(call.request.query_params.get("p"))
    start = (number - 1) * COMMITS_PAGE
    shown = list(itertools.islice(pages.store.history(state.repo, head), start, start + COMMITS_PAGE + 1))
    return pages.render(
        call,
        "commits.html",
        top=header(pages, state, revision, head, "commits"),
        commits=shown[:COMMITS_PAGE],
        number=number,
        more=len(shown) > COMMITS_PAGE,
    )


def commit(pages: Pages, call: Call, repo_type: str) -> Response:
    """One commit: who, when, why, and the files it changed against its parent, with their diff."""
    state = pages.hub.readable(call, repo_type)
    shown = pages.store.resolve(state, call.params["sha"][:MAX_REVISION])
    parent = pages.store.commit(state.repo, shown.parents[0]).tree if shown.parents else {}
    changes = [
        Change(path, "added" if path not in parent else "deleted" if path not in shown.tree else "modified")
        for path in sorted(set(parent) | set(shown.tree))
        if parent.get(path) != shown.tree.get(path)
    ]
    lines, cut = diff_lines(tree_diff(pages.store, parent, shown.tree))
    return pages.render(
        call,
        "commit.html",
        top=header(pages, state, shown.id, shown, "commits"),
        commit=shown,
        changes=changes,
        lines=lines,
        cut=cut,
    )
