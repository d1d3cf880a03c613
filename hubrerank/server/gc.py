"""Reclaim the embedded Hub's disk: what no branch, tag or pull request of any repo can reach any more.

Removed: blobs that no reachable commit of any repo holds (deleted repos, rejected or squashed
commits, uploads never committed), commit files no branch, tag or ``refs/pr/N`` reaches (deleted branches,
``super_squash_history``, a crash between writing a commit and moving its branch), staging files
and folders in ``tmp/``, and what a crashed repo deletion left in ``trash/``.

Safe against servers running on the same data dir, by a lock and a grace period: gc holds
``locks/gc.lock`` exclusively, which every repo write (commit, branch, tag, create, delete) holds
shared while it checks its blobs and writes, so no ref moves between gc's scan and its deletions
(writes wait for the seconds gc takes; reads never do). Blobs, commit files and staging entries
younger than the grace period (default one hour) are kept: an upload in flight, or a blob a client
was just told it need not upload again (the server refreshes its mtime), survives until the commit
that uses it arrives.

``hubrerank hub serve`` runs a pass on a schedule (:class:`GcSchedule`): every server on a data dir
wakes once per interval, and runs a pass only if no pass (of any server, or ``hub gc``) finished on
that data dir within the interval; the time of the last pass is the mtime of ``locks/gc.lock``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hubrerank.server.disk import file_lock
from hubrerank.server.objects import REPO_TYPES, SHA_RE
from hubrerank.server.storage import GC_LOCK

DEFAULT_GRACE_S = 3600.0
DEFAULT_INTERVAL_S = 3600.0
log = logging.getLogger("hubrerank.server.gc")


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
    """The commits reachable from ``repo_dir``'s branches, tags and ``refs/pr/N``, and their blobs."""
    refs = json.loads((repo_dir / "refs.json").read_bytes())
    pending = [*refs["branches"].values(), *(tag["target"] for tag in refs["tags"].values())]
    pending += refs.get("pulls", {}).values()  # refs/pr/N: a pull request's commits, merged or not
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
    lock = root / "locks" / GC_LOCK
    with file_lock(lock):
        found = find_garbage(root, grace_s)
        if not dry_run:
            for item in found:
                if item.path.is_dir() and not item.path.is_symlink():
                    shutil.rmtree(item.path, ignore_errors=True)
                else:
                    item.path.unlink(missing_ok=True)
            os.utime(lock)  # when the last pass ran, for the schedules of servers on this data dir
    return found


def _last_pass(root: Path) -> float:
    """When a pass last finished on data dir ``root`` (0: never)."""
    try:
        return (root / "locks" / GC_LOCK).stat().st_mtime
    except FileNotFoundError:
        return 0.0


class GcSchedule:
    """A daemon thread running :func:`collect` on data dir ``root`` whenever a pass is due.

    A pass is due when none finished on the data dir for ``interval_s`` (so a restart right after a
    pass does not repeat it, and several servers on one data dir share the schedule). Each pass
    that removes something logs one line; a pass that fails logs why and the next one runs as planned.
    """

    def __init__(
        self, root: Path, interval_s: float = DEFAULT_INTERVAL_S, grace_s: float = DEFAULT_GRACE_S
    ) -> None:
        self.root = Path(root)
        self.interval_s, self.grace_s = interval_s, grace_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> GcSchedule:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="hub-gc", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the pass in progress, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None

    def seconds_until_due(self) -> float:
        """Seconds until a pass is due on the data dir (<= 0: now)."""
        return _last_pass(self.root) + self.interval_s - time.time()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            wait = self.seconds_until_due()
            if wait <= 0:
                self.run_pass()
                wait = self.interval_s  # also after a failed pass: one attempt per interval
            stop.wait(max(1.0, wait))

    def run_pass(self) -> None:
        try:
            removed = collect(self.root, self.grace_s)
        except OSError as error:
            log.warning("gc of %s failed: %s; next pass in %.0f s", self.root, error, self.interval_s)
            return
        except Exception:  # a bug: logged in full, and the server keeps serving
            log.exception("gc of %s failed; next pass in %.0f s", self.root, self.interval_s)
            return
        if removed:
            total = sum(item.size for item in removed)
            log.info(
                "gc removed %d item(s), %d bytes (%.1f MB) from %s",
                len(removed),
                total,
                total / 1e6,
                self.root,
            )
