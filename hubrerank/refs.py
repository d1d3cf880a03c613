"""The one place that turns ``repo@revision`` references into commit shas.

Every artifact hubrerank writes records the sha a reference resolved to, never a branch or tag
name, so that a recipe, a dataset card or a verification report can be re-run byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hubrerank.errors import RefError

SHA_PATTERN = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID_PATTERN = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
REPO_TYPES = ("model", "dataset")


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


def resolve(ref: Ref | str, repo_type: str = "model", token: str | None = None) -> ResolvedRef:
    """Resolve a reference to the commit sha it points to now, on the configured Hub."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(ref, str):
        ref = Ref.parse(ref, repo_type)
    revision = ref.revision or "main"
    kind = "dataset" if ref.repo_type == "dataset" else "model"
    try:
        info = HfApi(token=token).repo_info(ref.repo_id, revision=revision, repo_type=ref.repo_type)
    except RevisionNotFoundError:
        raise RefError(
            f"{kind} repo {ref.repo_id} has no revision {revision!r}; "
            "check the branch, tag or commit sha (hubrerank hub ls lists repos on the embedded Hub)"
        ) from None
    except RepositoryNotFoundError:
        raise RefError(
            f"{kind} repo {ref.repo_id} not found (or private and your token cannot read it); "
            "check the repo id, HF_TOKEN and --hub"
        ) from None
    except HfHubHTTPError as error:
        raise RefError(f"cannot read {kind} repo {ref.repo_id}@{revision}: {error}") from None
    except (HTTPError, OSError) as error:
        raise RefError(
            f"cannot reach the Hub for {kind} repo {ref.repo_id} ({type(error).__name__}: {error}); "
            "check --hub / HF_ENDPOINT and the network"
        ) from None
    return ResolvedRef(ref.repo_id, info.sha, ref.repo_type, revision)
