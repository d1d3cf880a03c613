"""Which paths a commit should skip because of the repo's ``.gitignore`` (preupload's ``shouldIgnore``).

Like the Hub: the rules come from the ``gitIgnore`` text the client sends with preupload (the
.gitignore of the commit being made), else from the revision's ``.gitignore``. Matching is git's
(``pathspec.GitIgnoreSpec``: negation, anchoring, ``dir/`` patterns, ``**``).
"""

from __future__ import annotations

from pathspec import GitIgnoreSpec

from hubrerank.server.objects import Commit
from hubrerank.server.storage import Store


class GitIgnore:
    """The ignore rules for a commit on top of ``commit``."""

    def __init__(self, store: Store, commit: Commit, sent: str | None) -> None:
        if sent is None:
            entry = commit.tree.get(".gitignore")
            sent = store.read_blob(entry.sha256).decode("utf-8", errors="replace") if entry else ""
        self._spec = GitIgnoreSpec.from_lines(sent.splitlines())

    def ignores(self, path: str) -> bool:
        return path != ".gitignore" and self._spec.match_file(path)
