"""Reclaim the embedded Hub's disk: what no branch or tag of any repo can reach any more.

Removed: blobs that no reachable commit of any repo holds (deleted repos, rejected or squashed
commits, uploads never committed), commit files no branch or tag reaches (deleted branches,
``super_squash_history``, a crash between writing a commit and moving its branch), staging files
and folders in ``tmp/``, and what a crashed repo deletion left in ``trash/``.

Safe against servers running on the same data dir, by a lock and a grace period: gc holds
``locks/gc.lock`` exclusively, which every repo write (commit, branch, tag, create, delete) holds
shared while it checks its blobs and writes, so no ref moves between gc's scan and its deletions
(writes wait for the seconds gc takes; reads never do). Blobs, commit files and staging entries
younger than the grace period (default one hour) are kept: an upload in flight, or a blob a client
was just told it need not upload again (the server refreshes its mtime), survives until the commit
that uses it arrives.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hubrerank.server.storage import GC_LOCK, REPO_TYPES, SHA_RE, file_lock

DEFAULT_GRACE_S = 3600.0


@dataclass(frozen=True)
class Removal:
    """One thing gc removes (or would remove): its kind, path and size in bytes."""

    kind: str
    path: Path
    size: int


def _size(path: Path) -> int:
    """Bytes of a file or folder (what a concurrent deletion removed meanwhile counts as 0)."""
    paths = path.rglob("*") if path.is_dir() and not path.is_symlink() else [path]
    total = 0
    for item in paths:
        with contextlib.suppress(OSError):
            total += 0 if item.is_dir() else item.lstat().st_size
    return total


def _reachable(repo_dir: Path) -> tuple[set[str], set[str]]:
    """The commits reachable from ``repo_dir``'s branches and tags, and the blobs they hold."""
    refs = json.loads((repo_dir / "refs.json").read_bytes())
    pending = [*refs["branches"].values(), *(tag["target"] for tag in refs["tags"].values())]
    commits: set[str] = set()
    blobs: set[str] = set()
    while pending:
        sha = pending.pop()
        if sha in commits:
            continue
        commits.add(sha)
        data = json.loads((repo_dir / "commits" / f"{sha}.json").read_bytes())
        pending += data["parents"]
        blobs.update(entry[0] for entry in data["tree"].values())
    return commits, blobs


def _repo_dirs(root: Path) -> Iterator[Path]:
    for repo_type in REPO_TYPES:
        yield from sorted(p.parent for p in (root / "repos" / f"{repo_type}s").glob("*/*/refs.json"))


def _old(path: Path, cutoff: float) -> bool:
    return path.lstat().st_mtime < cutoff


def find_garbage(root: Path, grace_s: float = DEFAULT_GRACE_S) -> list[Removal]:
    """What gc would remove from data dir ``root`` now (call with gc's lock held to act on it)."""
    cutoff = time.time() - grace_s
    found: list[Removal] = []
    referenced: set[str] = set()
    for repo_dir in _repo_dirs(root):
        commits, blobs = _reachable(repo_dir)
        referenced |= blobs
        for path in sorted((repo_dir / "commits").glob("*.json")):
            if path.stem not in commits and SHA_RE.match(path.stem) and _old(path, cutoff):
                found.append(Removal("commit", path, _size(path)))
    for path in sorted((root / "objects").glob("??/??/*")):
        if path.name not in referenced and _old(path, cutoff):
            found.append(Removal("blob", path, _size(path)))
    for path in sorted((root / "tmp").glob("*")):
        if _old(path, cutoff):
            found.append(Removal("staging", path, _size(path)))
    found += [Removal("deleted repo", path, _size(path)) for path in sorted((root / "trash").glob("*"))]
    return found


def collect(root: Path, grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False) -> list[Removal]:
    """Remove (unless ``dry_run``) what :func:`find_garbage` finds, holding gc's lock; returns it."""
    root = Path(root)
    with file_lock(root / "locks" / GC_LOCK):
        found = find_garbage(root, grace_s)
        if not dry_run:
            for item in found:
                if item.path.is_dir() and not item.path.is_symlink():
                    shutil.rmtree(item.path, ignore_errors=True)
                else:
                    item.path.unlink(missing_ok=True)
    return found
