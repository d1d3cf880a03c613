"""References to Hub repos: ``repo@revision`` as a user wrote it, and pinned to a commit sha.

:func:`hubrerank.hub.resolve` turns one into the other. Every artifact hubrerank writes records the sha a
reference resolved to, never a branch or tag name, so that a recipe, a dataset card or a verification
report can be re-run byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from hubrerank.errors import RefError

SHA_PATTERN = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID_PATTERN = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
REPO_TYPES = ("model", "dataset")
RepoType = Literal["model", "dataset"]


@dataclass(frozen=True)
class Ref:
    """A reference as a user wrote it: a repo id and an optional branch, tag or sha."""

    repo_id: str
    revision: str | None = None
    repo_type: str = "model"

    @classmethod
    def parse(cls, text: str, repo_type: str = "model") -> Ref:
        """Parse ``ORG/NAME[@REVISION]``; raise RefError naming the text when it is not one."""
        repo_id, _, revision = text.partition("@")
        if not _REPO_ID_PATTERN.match(repo_id) or ".." in repo_id or (text.endswith("@")):
            raise RefError(f"{text!r} is not a repo reference; write ORG/NAME or ORG/NAME@REVISION")
        if repo_type not in REPO_TYPES:
            raise RefError(f"unknown repo type {repo_type!r}; use one of {', '.join(REPO_TYPES)}")
        return cls(repo_id, revision or None, repo_type)

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id


@dataclass(frozen=True)
class ResolvedRef:
    """A reference pinned to a commit: ``requested`` is what the user wrote (branch, tag or sha)."""

    repo_id: str
    sha: str
    repo_type: str = "model"
    requested: str = "main"

    @property
    def pinned(self) -> bool:
        """True when the user named the commit itself, so the reference can never move."""
        return self.requested == self.sha

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.sha}"

    def as_dict(self) -> dict[str, str]:
        return {"repo": self.repo_id, "revision": self.sha, "requested": self.requested}
