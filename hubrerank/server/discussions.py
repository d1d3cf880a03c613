"""Discussions and pull requests of the embedded Hub's repos, as stored in the data dir.

Each one is a file in its repo's folder, ``repos/<type>s/<ns>/<name>/discussions/<num>.json``, so
that deleting or moving the repo takes its discussions along. A pull request's head is the ref
``refs/pr/<num>``, kept in the repo's ``refs.json`` next to its branches (``pulls``): commits to
it, gc and history rewrites treat it as they treat a branch, and it stays after the pull request is
merged or closed, as on the Hub. Writes happen under the repo's writer lock (the one commits take),
each file written whole and renamed into place. A pull request's ref is written before its file,
so a crash in between leaves at most an unreferenced ``refs/pr/<num>`` (numbers skip it) and
never a pull request without its ref.

The commits of a pull request are not stored as events: they are read from ``refs/pr/<num>``'s
history back to the commit it was opened on, so they can never disagree with the ref.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubrerank.server.admin import Forbidden
from hubrerank.server.disk import write_json_atomic
from hubrerank.server.objects import Commit, Operation, Repo, RepoState, RevisionNotFound, StoreError, now_iso
from hubrerank.server.storage import Store

STATUSES = ("draft", "open", "closed", "merged")
MAX_COMMIT_EVENTS = 1000  # a pull request's details list at most this many of its commits


class DiscussionNotFound(StoreError):
    status = 404


@dataclass
class Version:
    """One version of a comment's text: what it said, when, and who wrote it."""

    raw: str
    at: str
    author: str

    def to_json(self) -> dict[str, str]:
        return {"raw": self.raw, "at": self.at, "author": self.author}


@dataclass
class Event:
    """A comment, a status change or a title change (commits are read from the pull request's ref).

    ``text`` is a comment's latest content, the new status or the new title; ``previous`` the old
    title; ``versions`` every text of a comment, oldest first, the last one ``text`` (edits add one,
    hiding replaces them all).
    """

    id: str
    type: str
    author: str
    created_at: str
    text: str
    previous: str = ""
    hidden: bool = False
    versions: list[Version] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "author": self.author,
            "createdAt": self.created_at,
            "text": self.text,
            "previous": self.previous,
            "hidden": self.hidden,
            "versions": [v.to_json() for v in self.versions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        versions = [Version(v["raw"], v["at"], v["author"]) for v in data["versions"]]
        return cls(
            data["id"],
            data["type"],
            data["author"],
            data["createdAt"],
            data["text"],
            data["previous"],
            data["hidden"],
            versions,
        )

    @classmethod
    def new(cls, kind: str, author: str, text: str, previous: str = "") -> Event:
        event = cls(uuid.uuid4().hex[:24], kind, author, now_iso(), text, previous)
        if kind == "comment":
            event.versions.append(Version(text, event.created_at, author))
        return event

    def rewrite(self, text: str, author: str) -> None:
        """A comment's new text (an edit), its earlier ones kept."""
        self.text = text
        self.versions.append(Version(text, now_iso(), author))


@dataclass
class Discussion:
    """A discussion, or a pull request (``target`` is then the branch it merges into)."""

    num: int
    title: str
    author: str
    created_at: str
    is_pull_request: bool
    status: str
    events: list[Event]
    target: str | None = None
    start: str | None = None  # the commit the pull request was opened on
    merge_commit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "num": self.num,
            "title": self.title,
            "author": self.author,
            "createdAt": self.created_at,
            "isPullRequest": self.is_pull_request,
            "status": self.status,
            "events": [e.to_json() for e in self.events],
            "target": self.target,
            "start": self.start,
            "mergeCommit": self.merge_commit,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Discussion:
        return cls(
            data["num"],
            data["title"],
            data["author"],
            data["createdAt"],
            data["isPullRequest"],
            data["status"],
            [Event.from_json(e) for e in data["events"]],
            data["target"],
            data["start"],
            data["mergeCommit"],
        )

    def comment(self, comment_id: str) -> Event:
        for event in self.events:
            if event.type == "comment" and event.id == comment_id:
                return event
        raise DiscussionNotFound(f"discussion #{self.num} has no comment {comment_id!r}")


@dataclass(frozen=True)
class Summary:
    """What listings filter on: a discussion's status, author and kind."""

    num: int
    status: str
    author: str
    is_pull_request: bool


@functools.lru_cache(maxsize=65536)
def _read_summary(path: str, inode: int, mtime_ns: int, size: int) -> Summary:
    """The summary of discussion file ``path``; the key changes whenever the file is replaced, so
    filtering thousands of discussions reads only the files written since the last listing."""
    with open(path, "rb") as handle:
        data = json.loads(handle.read())
    return Summary(data["num"], data["status"], data["author"], data["isPullRequest"])


class Discussions:
    """The discussions of every repo of one data dir."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _folder(self, repo: Repo) -> Path:
        return self.store.repo_dir(repo) / "discussions"

    def _file(self, repo: Repo, num: int) -> Path:
        return self._folder(repo) / f"{num}.json"

    def get(self, state: RepoState, num: int) -> Discussion:
        """Discussion ``num`` of the repo; DiscussionNotFound if there is none."""
        try:
            return Discussion.from_json(json.loads(self._file(state.repo, num).read_bytes()))
        except FileNotFoundError:
            raise DiscussionNotFound(
                f"{state.repo.type} repo {state.repo.id} has no discussion #{num}"
            ) from None

    def _entries(self, state: RepoState) -> list[tuple[int, os.DirEntry[str]]]:
        """The repo's discussion files with their numbers, newest first."""
        try:
            with os.scandir(self._folder(state.repo)) as found:
                entries = [
                    (int(e.name[:-5]), e) for e in found if e.name.endswith(".json") and e.name[:-5].isdigit()
                ]
        except FileNotFoundError:
            return []
        return sorted(entries, key=lambda pair: pair[0], reverse=True)

    def numbers(self, state: RepoState) -> list[int]:
        """The numbers of the repo's discussions, newest first."""
        return [num for num, _ in self._entries(state)]

    def summaries(self, state: RepoState) -> Iterator[Summary]:
        """The summaries of the repo's discussions, newest first."""
        for _, entry in self._entries(state):
            with contextlib.suppress(FileNotFoundError):
                stat = entry.stat()
                yield _read_summary(entry.path, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def create(
        self,
        repo: Repo,
        author: str,
        title: str,
        description: str,
        *,
        pull_request: bool,
        status: str,
        target: str | None = None,
        commit: Callable[[RepoState, Commit], Commit] | None = None,
        start: str | None = None,
    ) -> tuple[Discussion, Commit | None]:
        """Open a discussion or pull request; its first comment is ``description``.

        A pull request starts at ``start`` (default: the head of branch ``target``), and
        ``commit(state, start_commit)`` may write its first commit (raising leaves nothing
        behind); returns the discussion and that commit.
        """
        with self.store.lock(repo):
            opening = Event.new("comment", author, description)  # dated before the first commit
            state = self.store.state(repo)
            taken = [0, *self.numbers(state), *(int(n) for n in state.pulls)]
            num = max(taken) + 1
            head: Commit | None = None
            first: Commit | None = None
            if pull_request:
                assert target is not None
                if target not in state.branches:
                    raise RevisionNotFound(f"{repo.type} repo {state.repo.id} has no branch {target!r}")
                head = self.store.commit(state.repo, start or state.branches[target])
                first = commit(state, head) if commit is not None else None
                self.store.move_ref(state, f"refs/pr/{num}", (first or head).id)
            discussion = Discussion(
                num,
                title,
                author,
                opening.created_at,
                pull_request,
                status,
                [opening],
                target if pull_request else None,
                head.id if head is not None else None,
            )
            self._write(state.repo, discussion)
        return discussion, first

    def update(self, repo: Repo, num: int, change: Callable[[RepoState, Discussion], Any]) -> Any:
        """Apply ``change`` to discussion ``num`` under the repo's lock, store it, return what it returned."""
        with self.store.lock(repo):
            state = self.store.state(repo)
            discussion = self.get(state, num)
            result = change(state, discussion)
            self._write(state.repo, discussion)
        return result

    def _write(self, repo: Repo, discussion: Discussion) -> None:
        write_json_atomic(self._file(repo, discussion.num), discussion.to_json())

    def check_committer(self, state: RepoState, ref: str, who: str, may_write: bool) -> None:
        """Raise unless ``who`` may commit to pull request ref ``ref``: its author, or a writer of the
        repo, while it is not merged; RevisionNotFound if there is no such pull request."""
        num = int(ref.removeprefix("refs/pr/"))
        try:
            discussion = self.get(state, num)
        except DiscussionNotFound:
            raise RevisionNotFound(
                f"{state.repo.type} repo {state.repo.id} has no pull request {ref}"
            ) from None
        if not discussion.is_pull_request:
            raise RevisionNotFound(f"#{num} of {state.repo.id} is a discussion, not a pull request")
        if not (may_write or discussion.author == who):
            raise Forbidden(
                f"only the author of pull request #{num} or the repo's writers may commit to {ref}"
            )
        if discussion.status == "merged":
            raise StoreError(f"pull request #{num} is merged: open a new one to propose more changes")

    def pull_commits(self, state: RepoState, discussion: Discussion) -> list[Commit]:
        """The commits of a pull request, oldest first: its ref's history back to where it started."""
        head_sha = state.pulls.get(str(discussion.num))
        if head_sha is None:
            return []
        found = []
        for commit in self.store.history(state.repo, self.store.commit(state.repo, head_sha)):
            if commit.id == discussion.start or len(found) >= MAX_COMMIT_EVENTS:
                break
            found.append(commit)
        return found[::-1]


def apply_operations(
    store: Store, operations: list[Operation], *, title: str, message: str, author: str
) -> Callable[[RepoState, Commit], Commit]:
    """A ``commit`` argument for :meth:`Discussions.create`: writes ``operations`` on top of the start."""

    def write(state: RepoState, head: Commit) -> Commit:
        return store.write_commit(state.repo, head, operations, title=title, message=message, author=author)

    return write
