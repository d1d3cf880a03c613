"""What the embedded Hub stores, as values: repos, commits and their trees' entries, the operations a
commit applies, the names and paths it accepts (validated here, before anything touches the disk), and
the errors the store answers with (their HTTP status and X-Error-Code)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

REPO_TYPES = ("model", "dataset")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,39}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")  # NUL, newlines, ...: never valid in a path
PR_REF_RE = re.compile(r"^refs/pr/([1-9][0-9]{0,8})$")
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
# Namespaces that would make the Hub's URLs ambiguous ("/datasets/x/y/resolve/..." vs a model).
# Paths of the API and of the pages (``/login``, ``/front/style.css``): never a user's or org's name.
RESERVED_NAMESPACES = frozenset(
    {"api", "datasets", "models", "spaces", "organizations", "settings", "login", "logout", "front"}
)
MAX_PATH_LENGTH = 1000
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


class StoreError(Exception):
    """A request the store refuses; ``status`` and ``code`` are the HTTP status and X-Error-Code."""

    status = 400
    code: str | None = None


class Invalid(StoreError):
    """A malformed name, path, revision or commit."""


class RepoNotFound(StoreError):
    status, code = 404, "RepoNotFound"


class RevisionNotFound(StoreError):
    status, code = 404, "RevisionNotFound"


class EntryNotFound(StoreError):
    status, code = 404, "EntryNotFound"


class Conflict(StoreError):
    status = 409


class StaleParent(StoreError):
    status = 412


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_name(name: str, what: str = "repo name") -> str:
    """A namespace or repo name: letters, digits, ``._-``; no ``..``, no trailing ``.git``."""
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name or name.endswith(".git"):
        raise Invalid(f"invalid {what} {name!r}: use letters, digits, '-', '_' and '.' (no '..')")
    return name


def validate_path(path: str) -> str:
    """A file path inside a repo: relative, '/'-separated; no '..', '.', backslash, control char, .git/.

    ``.git`` is refused in any case and at any depth: git (and case-insensitive file systems) would
    treat ``.GIT/config`` in a clone as repository metadata.
    """
    parts = path.split("/") if isinstance(path, str) else [""]
    if (
        not path
        or len(path) > MAX_PATH_LENGTH
        or "\\" in path
        or _CONTROL_RE.search(path)
        or any(part in ("", ".", "..") for part in parts)
        or any(part.lower() == ".git" for part in parts)
    ):
        raise Invalid(f"invalid path in repo {path!r}: use a relative path without '..', '\\' or NUL")
    return path


def validate_ref_name(name: str) -> str:
    """A branch or tag name git accepts (``git check-ref-format --branch``), in a safe character set.

    Beyond the character set (which already excludes space, control chars, ``~^:?*[\\`` and ``@{``):
    no component starting with '.' or ending with '.lock', no '..', '//', no trailing '/' or '.';
    and not ``HEAD``, a ``refs/...`` name (it would shadow the ``refs/heads/`` spelling of another
    branch) or a 40-hex string (that would read as a commit id).
    """
    components = name.split("/") if isinstance(name, str) else []
    if (
        not isinstance(name, str)
        or not _REF_RE.match(name)
        or ".." in name
        or name.endswith((".", "/"))
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in components)
        or name == "HEAD"
        or components[0] == "refs"
        or SHA_RE.match(name)
    ):
        raise Invalid(f"invalid branch or tag name {name!r} (git check-ref-format rules)")
    return name


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob holding ``data``."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return LFS_POINTER.format(oid=sha256, size=size).encode()


@dataclass(frozen=True)
class Entry:
    """A file in a commit's tree. ``oid`` is the git blob id (of the LFS pointer for LFS files)."""

    sha256: str
    size: int
    oid: str
    lfs: bool

    @classmethod
    def regular(cls, data: bytes) -> Entry:
        return cls(hashlib.sha256(data).hexdigest(), len(data), git_blob_oid(data), False)

    @classmethod
    def large(cls, sha256: str, size: int) -> Entry:
        return cls(sha256, size, git_blob_oid(lfs_pointer(sha256, size)), True)

    @property
    def pointer_size(self) -> int:
        return len(lfs_pointer(self.sha256, self.size))


@dataclass(frozen=True)
class Commit:
    """An immutable commit: its id is the sha1 of everything else, tree included."""

    id: str
    parents: tuple[str, ...]
    title: str
    message: str
    author: str
    date: str
    tree: dict[str, Entry] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parents": list(self.parents),
            "title": self.title,
            "message": self.message,
            "author": self.author,
            "date": self.date,
            "tree": {path: [e.sha256, e.size, e.oid, e.lfs] for path, e in sorted(self.tree.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Commit:
        tree = {path: Entry(*value) for path, value in data["tree"].items()}
        return cls(
            data["id"],
            tuple(data["parents"]),
            data["title"],
            data["message"],
            data["author"],
            data["date"],
            tree,
        )

    @classmethod
    def create(
        cls,
        parents: Iterable[str],
        title: str,
        message: str,
        author: str,
        tree: dict[str, Entry],
        date: str | None = None,
    ) -> Commit:
        draft = cls("", tuple(parents), title, message, author, date or now_iso(), tree)
        body = json.dumps({k: v for k, v in draft.to_json().items() if k != "id"}, sort_keys=True)
        return dataclasses.replace(draft, id=hashlib.sha1(body.encode()).hexdigest())


@dataclass(frozen=True)
class Repo:
    """A repo's identity; ``id`` is ``ns/name``."""

    type: str
    ns: str
    name: str

    @classmethod
    def parse(cls, repo_type: str, ns: str, name: str) -> Repo:
        if repo_type not in REPO_TYPES:
            raise Invalid(f"unknown repo type {repo_type!r}; use model or dataset")
        if ns in RESERVED_NAMESPACES:
            raise Invalid(f"namespace {ns!r} is reserved")
        return cls(repo_type, validate_name(ns, "namespace"), validate_name(name))

    @property
    def id(self) -> str:
        return f"{self.ns}/{self.name}"

    @property
    def url_path(self) -> str:
        """The repo's path in Hub URLs: ``ns/name`` for models, ``datasets/ns/name`` for datasets."""
        return self.id if self.type == "model" else f"{self.type}s/{self.id}"


@dataclass(frozen=True)
class RepoState:
    """What a reader needs about a repo at one moment: settings and refs."""

    repo: Repo
    private: bool
    created_at: str
    branches: dict[str, str]
    tags: dict[str, dict[str, str]]
    pulls: dict[str, str] = field(default_factory=dict)  # pull request number (as text) -> head sha

    def head(self, ref: str) -> str | None:
        """The commit a branch or ``refs/pr/N`` points at (None if there is no such ref)."""
        match = PR_REF_RE.match(ref)
        return self.pulls.get(match.group(1)) if match else self.branches.get(ref)


@dataclass(frozen=True)
class AddFile:
    path: str
    entry: Entry


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


Operation = AddFile | DeleteFile | DeleteFolder
