"""The embedded Hub's state on disk: content-addressed blobs, immutable commits, refs, repo settings.

Layout under the data dir::

    objects/<aa>/<bb>/<sha256>                  every file's bytes, named by their sha256 (LFS or not)
    repos/<type>s/<ns>/<name>/repo.json         {"private": bool, "createdAt": iso date}
    repos/<type>s/<ns>/<name>/refs.json         {"branches": {name: sha}, "tags": {name: {...}},
                                                 "pulls": {num: sha}}  (refs/pr/<num>)
    repos/<type>s/<ns>/<name>/discussions/<num>.json  a discussion or pull request (server/discussions.py)
    repos/<type>s/<ns>/<name>/commits/<sha>.json  one immutable commit holding its full tree
    repos/<type>s/<ns>/<name>/lfs/<aa>/<sha256>   empty: an LFS object some commit of the repo holds
    uploads/<user>/<aa>/<sha256>                 empty: an object the user uploaded (bytes verified)
    likes/<user>.json                           the repos the user likes (server/likes.py)
    locks/  tmp/  trash/

``hubrerank hub gc`` (server/gc.py) removes what nothing references any more.

Files are created 0600 and folders 0700, and the layout's top folders are made 0700 at start (also
in data dirs written by older versions): repo data is never readable by other local users. Every
file is written to a temp file, fsynced and ``os.replace``'d into place, and a commit's blobs and
commit file land before the ref moves, so a crash at any point leaves the previous state intact
and readable. Writers of one repo serialize on an ``flock``'ed lock file, which also works between
processes serving the same data dir; readers never lock.

Blobs are stored once for all repos, but an LFS object may only be committed by a user who uploaded
it (the ``uploads`` markers) or into a repo that already holds it; the app also accepts objects held
by any repo the committer can read. Knowing the sha256 of a file in someone's private repo thus
neither reveals that the server holds it nor lets anyone reference (and then download) it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hubrerank.server.disk import (
    DIR_MODE,
    DISK_FULL_ERRNOS,
    FILE_MODE,
    file_lock,
    fsync_dir,
    make_dirs,
    write_atomic,
    write_json_atomic,
)
from hubrerank.server.objects import (
    NAME_RE,
    PR_REF_RE,
    REPO_TYPES,
    SHA256_RE,
    SHA_RE,
    SHORT_SHA_RE,
    AddFile,
    Commit,
    Conflict,
    DeleteFile,
    Entry,
    EntryNotFound,
    Invalid,
    Operation,
    Repo,
    RepoNotFound,
    RepoState,
    RevisionNotFound,
    StaleParent,
    StoreError,
    now_iso,
    validate_name,
    validate_ref_name,
)

LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
GC_LOCK = "gc.lock"
log = logging.getLogger("hubrerank.server")

_LFS_PATTERNS = (
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy "
    "*.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* "
    "*.tar.* *.tar *.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents*"
)
_DATASET_LFS_PATTERNS = (
    "*.lz4 *.mds *.pcm *.sam *.raw *.aac *.flac *.mp3 *.ogg *.wav *.bmp *.gif *.png *.tiff *.jpg *.jpeg "
    "*.webp *.mp4 *.webm"
)


def default_gitattributes(repo_type: str) -> bytes:
    """The .gitattributes a new repo starts with, marking the Hub's usual binary formats as LFS."""
    patterns = _LFS_PATTERNS + (" " + _DATASET_LFS_PATTERNS if repo_type == "dataset" else "")
    lines = [f"{p} filter=lfs diff=lfs merge=lfs -text" for p in patterns.split()]
    return ("\n".join(lines) + "\n").encode()


def _folders(tree: dict[str, Entry]) -> set[str]:
    return {path.rsplit("/", i)[0] for path in tree for i in range(1, path.count("/") + 1)}


@functools.lru_cache(maxsize=64)
def _read_commit(path: Path, mtime_ns: int, size: int) -> Commit:
    """A parsed commit file. Commits never change once written (their id is a hash of their content), so
    every request on a revision parses its tree once, not once a request: with 10,000 files, parsing
    was most of a download's time. The file's mtime and size are part of the key, so a rewritten or
    collected (gc) file is never served from the cache."""
    return Commit.from_json(json.loads(path.read_bytes()))


class BlobWriter:
    """Receives one upload in chunks, hashing as it goes; ``finish`` verifies and stores it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._tmp = store.tmp_dir / f"upload-{uuid.uuid4().hex}"
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self, sha256: str, size: int) -> None:
        """Store the upload as blob ``sha256``; raise Invalid if the bytes do not match."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self.size != size or self._hash.hexdigest() != sha256:
                raise Invalid(
                    f"uploaded object does not match: expected sha256 {sha256} size {size}, "
                    f"got {self._hash.hexdigest()} size {self.size}"
                )
            self._store.adopt_blob(self._tmp, sha256)
        finally:
            self.abort()

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def _check_file_folder_clash(tree: dict[str, Entry]) -> None:
    """Conflict if a path is a file and a folder (``m.txt`` and ``m.txt/x``): no checkout holds both."""
    for path in tree:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in tree:
                raise Conflict(
                    f"file {folder!r} and file {path!r} cannot both exist: {folder!r} would be a folder"
                )


class Store:
    """All reads and writes of the embedded Hub's data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self.tmp_dir = self.root / "tmp"
        self._objects = self.root / "objects"
        self._repos = self.root / "repos"
        self._locks = self.root / "locks"
        self._trash = self.root / "trash"
        self._uploads = self.root / "uploads"

    def initialize(self) -> None:
        """Create the layout (folders 0700) and clear what crashed writers left behind.

        The data dir itself is only made 0700 when created here: it may be a folder others need.
        """
        for folder in (self.tmp_dir, self._objects, self._repos, self._locks, self._trash, self._uploads):
            make_dirs(folder)
            with contextlib.suppress(PermissionError):  # a data dir shared with (owned by) another user
                os.chmod(folder, DIR_MODE)
        probe = self.tmp_dir / f"probe-{uuid.uuid4().hex}"
        try:
            write_atomic(probe, b"")
        except OSError as error:
            if error.errno not in DISK_FULL_ERRNOS:
                raise
            log.warning("the disk of %s is full: serving reads only until space is freed", self.root)
        probe.unlink(missing_ok=True)
        day_ago = time.time() - 86400  # other processes may be writing fresh temp files right now
        for tmp in self.tmp_dir.iterdir():
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < day_ago:
                    tmp.unlink()
        for trash in self._trash.iterdir():
            shutil.rmtree(trash, ignore_errors=True)

    # ---- blobs
    def blob_path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise Invalid(f"invalid sha256 {sha256!r}")
        return self._objects / sha256[:2] / sha256[2:4] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def claim_blob(self, sha256: str) -> bool:
        """True if blob ``sha256`` is stored; refreshes its mtime so that gc's grace period keeps an
        unreferenced blob a client was just told it need not upload again."""
        path = self.blob_path(sha256)
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        except OSError:  # a read-only data dir, or a blob another OS user wrote: stored all the same
            return path.is_file()
        return True

    def adopt_blob(self, tmp: Path, sha256: str) -> None:
        """Move a verified, fsynced temp file into the blob store (a no-op if already stored)."""
        target = self.blob_path(sha256)
        if target.is_file():
            return
        make_dirs(target.parent)
        os.replace(tmp, target)
        fsync_dir(target.parent)

    def put_blob(self, data: bytes) -> Entry:
        """Store a regular (non-LFS) file's bytes and return its tree entry."""
        entry = Entry.regular(data)
        if not self.claim_blob(entry.sha256):
            writer = BlobWriter(self)
            writer.write(data)
            writer.finish(entry.sha256, entry.size)
        return entry

    def read_blob(self, sha256: str) -> bytes:
        return self.blob_path(sha256).read_bytes()

    def blob_writer(self) -> BlobWriter:
        return BlobWriter(self)

    # ---- who may reference an LFS object
    def _upload_marker(self, user: str, sha256: str) -> Path:
        name = validate_name(user, "user name")
        return self._uploads / name / sha256[:2] / self.blob_path(sha256).name

    def record_upload(self, user: str, sha256: str) -> None:
        """Remember that ``user`` uploaded (and so knows the bytes of) stored object ``sha256``."""
        marker = self._upload_marker(user, sha256)
        make_dirs(marker.parent)
        marker.touch(mode=FILE_MODE)

    def uploaded_by(self, user: str, sha256: str) -> bool:
        return self._upload_marker(user, sha256).is_file()

    def _lfs_marker(self, repo: Repo, sha256: str) -> Path:
        return self._dir(repo) / "lfs" / sha256[:2] / self.blob_path(sha256).name

    def repo_holds(self, repo: Repo, sha256: str) -> bool:
        """True if a commit of ``repo`` holds object ``sha256`` (repos older than the markers: scanned)."""
        if self._lfs_marker(repo, sha256).is_file():
            return True
        needle = f'"{sha256}"'.encode()
        for path in (self._dir(repo) / "commits").glob("*.json"):
            if needle in path.read_bytes():
                self._mark_lfs(repo, [sha256])
                return True
        return False

    def repos_holding(self, sha256: str) -> list[Repo]:
        """Every repo whose commits hold LFS object ``sha256`` (per the markers)."""
        name = self.blob_path(sha256).name
        return [
            Repo(marker.parents[4].name.removesuffix("s"), marker.parents[3].name, marker.parents[2].name)
            for marker in self._repos.glob(f"*/*/*/lfs/{sha256[:2]}/{name}")
        ]

    def _mark_lfs(self, repo: Repo, sha256s: Iterable[str]) -> None:
        for sha256 in sha256s:
            marker = self._lfs_marker(repo, sha256)
            make_dirs(marker.parent)
            marker.touch(mode=FILE_MODE)

    # ---- repos
    def _dir(self, repo: Repo) -> Path:
        return self._repos / f"{repo.type}s" / repo.ns / repo.name

    def repo_dir(self, repo: Repo) -> Path:
        """The folder of ``repo`` as stored (its discussions live there too)."""
        return self._dir(repo)

    @contextlib.contextmanager
    def lock(self, repo: Repo) -> Iterator[None]:
        """The repo's writer lock (see :meth:`_lock`), for modules that keep per-repo files."""
        with self._lock(repo):
            yield

    @contextlib.contextmanager
    def _lock(self, repo: Repo) -> Iterator[None]:
        """The repo's writer lock, taken under gc's lock held shared: gc excludes every writer."""
        gc_lock = file_lock(self._locks / GC_LOCK, shared=True)
        name = f"{repo.type}s/{repo.ns}/{repo.name}.lock".lower()  # one lock for every spelling of an id
        with gc_lock, file_lock(self._locks / name):
            yield

    def stored_name(self, repo: Repo) -> Repo:
        """``repo`` as it was created: ids are case-insensitive, as on the Hub (``a/B`` is ``A/b``)."""
        if (self._dir(repo) / "repo.json").exists():
            return repo
        base = self._repos / f"{repo.type}s"
        for ns in base.glob("*"):
            if ns.name.lower() == repo.ns.lower():
                for folder in ns.glob("*"):
                    if folder.name.lower() == repo.name.lower() and (folder / "repo.json").exists():
                        return Repo(repo.type, ns.name, folder.name)
        return repo

    def state(self, repo: Repo) -> RepoState:
        """Settings and refs of ``repo`` (any case); RepoNotFound if it does not exist."""
        repo = self.stored_name(repo)
        folder = self._dir(repo)
        try:
            meta = json.loads((folder / "repo.json").read_bytes())
            refs = json.loads((folder / "refs.json").read_bytes())
        except FileNotFoundError:
            raise RepoNotFound(f"{repo.type} repo {repo.id} not found") from None
        return RepoState(
            repo,
            bool(meta["private"]),
            meta["createdAt"],
            refs["branches"],
            refs["tags"],
            refs.get("pulls", {}),
        )

    def list_repos(self, namespace: str | None = None) -> list[RepoState]:
        """Every repo (of ``namespace`` if given), sorted by type then id."""
        if namespace is not None and not NAME_RE.match(namespace):
            return []  # no repo has such a namespace; and it is globbed below: no '..', '*' or '/'
        states = []
        for repo_type in REPO_TYPES:
            base = self._repos / f"{repo_type}s"
            for meta in sorted(base.glob(f"{namespace or '*'}/*/repo.json")):
                with contextlib.suppress(StoreError):
                    states.append(self.state(Repo(repo_type, meta.parent.parent.name, meta.parent.name)))
        return states

    def create_repo(self, repo: Repo, private: bool, author: str) -> RepoState:
        """Create ``repo`` with one commit holding the default .gitattributes; Conflict if it exists."""
        with self._lock(repo):
            target = self._dir(repo)
            if (self._dir(self.stored_name(repo)) / "repo.json").exists():
                raise Conflict(f"{repo.type} repo {repo.id} already exists")
            staging = self.tmp_dir / f"repo-{uuid.uuid4().hex}"
            attributes = self.put_blob(default_gitattributes(repo.type))
            initial = Commit.create((), "initial commit", "", author, {".gitattributes": attributes})
            write_json_atomic(staging / "commits" / f"{initial.id}.json", initial.to_json())
            meta = {"private": private, "createdAt": now_iso(), "by": author}
            write_json_atomic(staging / "repo.json", meta)
            write_json_atomic(staging / "refs.json", {"branches": {"main": initial.id}, "tags": {}})
            make_dirs(target.parent)
            os.rename(staging, target)
            fsync_dir(target.parent)
        return self.state(repo)

    def delete_repo(self, repo: Repo) -> None:
        with self._lock(repo):
            repo = self.state(repo).repo
            trash = self._trash / uuid.uuid4().hex
            os.rename(self._dir(repo), trash)
            fsync_dir(self._dir(repo).parent)
        shutil.rmtree(trash, ignore_errors=True)

    def set_private(self, repo: Repo, private: bool) -> None:
        with self._lock(repo):
            path = self._dir(self.stored_name(repo)) / "repo.json"
            if not path.exists():
                raise RepoNotFound(f"{repo.type} repo {repo.id} not found")
            meta = json.loads(path.read_bytes())
            meta["private"] = private
            write_json_atomic(path, meta)

    # ---- commits and revisions
    def commit(self, repo: Repo, sha: str) -> Commit:
        """The commit ``sha`` of ``repo``; RevisionNotFound if the repo has no such commit."""
        if not SHA_RE.match(sha):
            raise RevisionNotFound(f"invalid commit id {sha!r}")
        path = self._dir(repo) / "commits" / f"{sha}.json"
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise RevisionNotFound(f"{repo.type} repo {repo.id} has no commit {sha}") from None
        return _read_commit(path, stat.st_mtime_ns, stat.st_size)

    def resolve(self, state: RepoState, revision: str) -> Commit:
        """A branch, tag (also as refs/heads/.. or refs/tags/..), ``refs/pr/N`` or commit sha (>= 7
        chars) -> its commit."""
        pull = PR_REF_RE.match(revision)
        if pull and pull.group(1) in state.pulls:
            return self.commit(state.repo, state.pulls[pull.group(1)])
        name = revision
        for prefix in ("refs/heads/", "refs/tags/"):
            name = name.removeprefix(prefix)
        if name in state.branches:
            return self.commit(state.repo, state.branches[name])
        if name in state.tags:
            return self.commit(state.repo, state.tags[name]["target"])
        if SHA_RE.match(revision):
            return self.commit(state.repo, revision)
        if SHORT_SHA_RE.match(revision):  # a unique prefix of a commit id, as git and the Hub accept
            found = list((self._dir(state.repo) / "commits").glob(f"{revision}*.json"))
            if len(found) == 1:
                return self.commit(state.repo, found[0].stem)
        raise RevisionNotFound(f"{state.repo.type} repo {state.repo.id} has no revision {revision!r}")

    def history(self, repo: Repo, head: Commit) -> Iterator[Commit]:
        """``head`` and its first-parent ancestors, newest first."""
        commit: Commit | None = head
        while commit is not None:
            yield commit
            commit = self.commit(repo, commit.parents[0]) if commit.parents else None

    def apply(
        self,
        repo: Repo,
        branch: str,
        operations: list[Operation],
        *,
        title: str,
        message: str,
        author: str,
        parent: str | None = None,
    ) -> Commit:
        """Commit ``operations`` on top of ``branch`` (or ``refs/pr/N``); StaleParent if ``parent`` is not
        its head.

        LFS entries must already be stored (uploaded through :meth:`blob_writer`), regular files too
        (:meth:`put_blob`): this only writes the commit and then moves the branch.
        """
        with self._lock(repo):
            state = self.state(repo)
            repo = state.repo
            head_sha = state.head(branch)
            if head_sha is None:
                if branch in state.tags or SHA_RE.match(branch):
                    raise Invalid(f"cannot commit to {branch!r}: only branches can receive commits")
                raise RevisionNotFound(f"{repo.type} repo {repo.id} has no branch {branch!r}")
            head = self.commit(repo, head_sha)
            if parent is not None and parent != head.id:
                raise StaleParent(
                    "The branch was updated since you opened this page. Please refresh and try again. "
                    f"(parent commit {parent} is not the head of {branch}, {head.id})"
                )
            commit = self.write_commit(repo, head, operations, title=title, message=message, author=author)
            self.move_ref(state, branch, commit.id)
        return commit

    def write_commit(
        self, repo: Repo, head: Commit, operations: list[Operation], *, title: str, message: str, author: str
    ) -> Commit:
        """Write the commit of ``operations`` on top of ``head`` (with the repo's lock held); no ref moves.

        Raises before writing anything if an object is missing, a deleted file does not exist or the
        tree would hold a path as a file and a folder.
        """
        for op in operations:
            if isinstance(op, AddFile) and not self.has_blob(op.entry.sha256):
                raise Invalid(f"object {op.entry.sha256} for {op.path!r} was not uploaded; upload it first")
        tree = dict(head.tree)
        for op in operations:
            if isinstance(op, AddFile):
                tree[op.path] = op.entry
            elif isinstance(op, DeleteFile) and op.path not in tree and op.path in _folders(tree):
                for path in [p for p in tree if p.startswith(op.path + "/")]:
                    del tree[path]  # the Hub deletes a folder named without its trailing '/'
            elif isinstance(op, DeleteFile):
                if tree.pop(op.path, None) is None:
                    raise EntryNotFound(f"cannot delete {op.path!r}: no such file in {repo.id}")
            else:
                prefix = op.path.rstrip("/") + "/"
                for path in [p for p in tree if p.startswith(prefix)]:
                    del tree[path]
        _check_file_folder_clash(tree)
        self._mark_lfs(
            repo, (op.entry.sha256 for op in operations if isinstance(op, AddFile) and op.entry.lfs)
        )
        commit = Commit.create((head.id,), title, message, author, tree)
        self.save_commit(repo, commit)
        return commit

    def save_commit(self, repo: Repo, commit: Commit) -> None:
        """Store commit file ``commit`` (its blobs must be stored; no ref moves)."""
        write_json_atomic(self._dir(repo) / "commits" / f"{commit.id}.json", commit.to_json())

    def move_ref(self, state: RepoState, ref: str, sha: str) -> None:
        """Point branch or ``refs/pr/N`` ``ref`` at ``sha`` (call with the repo's lock held)."""
        pull = PR_REF_RE.match(ref)
        if pull:
            self._write_refs(state, pulls={**state.pulls, pull.group(1): sha})
        else:
            self._write_refs(state, branches={**state.branches, ref: sha})

    def _write_refs(
        self,
        state: RepoState,
        branches: dict[str, str] | None = None,
        tags: dict[str, dict[str, str]] | None = None,
        pulls: dict[str, str] | None = None,
    ) -> None:
        refs: dict[str, Any] = {"branches": branches if branches is not None else state.branches}
        refs["tags"] = tags if tags is not None else state.tags
        refs["pulls"] = pulls if pulls is not None else state.pulls
        write_json_atomic(self._dir(state.repo) / "refs.json", refs)

    def create_branch(self, repo: Repo, name: str, start: str | None) -> None:
        validate_ref_name(name)
        with self._lock(repo):
            state = self.state(repo)
            if name in state.branches:  # a tag of the same name is fine, as on the Hub
                raise Conflict(f"Reference refs/heads/{name} already exists in {state.repo.id}")
            commit = self.resolve(state, start or "main")
            self._write_refs(state, branches={**state.branches, name: commit.id})

    def delete_branch(self, repo: Repo, name: str) -> None:
        with self._lock(repo):
            state = self.state(repo)
            if name == "main":
                raise Invalid("Cannot delete refs/heads/main: the default branch")
            if name not in state.branches:
                raise RevisionNotFound(f"Invalid rev id: {name} is not a branch of {state.repo.id}")
            self._write_refs(state, branches={k: v for k, v in state.branches.items() if k != name})

    def create_tag(self, repo: Repo, name: str, revision: str, message: str) -> None:
        with self._lock(repo):
            state = self.state(repo)
            commit = self.resolve(state, revision)  # a missing revision is a 404 whatever the name
            validate_ref_name(name)
            if name in state.tags:  # a branch of the same name is fine, as on the Hub
                raise Conflict(f"Reference refs/tags/{name} already exists in {state.repo.id}")
            tag = {"target": commit.id, "message": message, "date": now_iso()}
            self._write_refs(state, tags={**state.tags, name: tag})

    def delete_tag(self, repo: Repo, name: str) -> None:
        with self._lock(repo):
            state = self.state(repo)
            if name not in state.tags:
                raise RevisionNotFound(f"{repo.type} repo {repo.id} has no tag {name!r}")
            self._write_refs(state, tags={k: v for k, v in state.tags.items() if k != name})
