"""What a pull request changes, and how it merges: its git-style diff, its conflicts, its merge.

A pull request is compared with its target branch from their merge base (the newest commit of the
pull request's history that the branch also reaches). Merging is by file, as the Hub merges: a file
the pull request changed since the merge base is taken from it, unless the branch changed it too,
differently; such files are conflicts and the merge is refused (409), nothing written. A merge is
one new commit on the branch holding the merged tree (one parent, the branch's head: the pull
request's own commits stay reachable through ``refs/pr/N``), titled ``<title> (#N)``.
"""

from __future__ import annotations

import difflib

from hubrerank.server.discussions import Discussion, Event
from hubrerank.server.objects import Commit, Conflict, Entry, Invalid, RepoState, StoreError, lfs_pointer
from hubrerank.server.storage import Store, _check_file_folder_clash

MAX_DIFF_FILE_BYTES = 1024 * 1024  # larger files are listed as changed, not diffed line by line
MAX_DIFF_CHARS = 4 * 1024 * 1024  # the whole diff is cut (with a last line saying so) beyond this
Tree = dict[str, Entry]


def merge_base(store: Store, state: RepoState, discussion: Discussion) -> Commit | None:
    """The newest commit of the pull request's history that its target branch also reaches.

    Histories here are chains (every commit the embedded Hub writes has one parent, merges
    included), so this walks the pull request's history back to where it started, then the
    branch's until it meets one of those commits: a few steps for a pull request on a branch that
    moved a little. Without the target branch (deleted since), the commit the pull request was
    opened on; None if they share no commit (both squashed since): everything counts as added.
    """
    head = state.pulls.get(str(discussion.num))
    target = state.branches.get(discussion.target or "")
    if head is None:
        return None
    if target is None:
        return store.commit(state.repo, discussion.start) if discussion.start else None
    own: dict[str, Commit] = {}
    for commit in store.history(state.repo, store.commit(state.repo, head)):
        own[commit.id] = commit
        if commit.id == discussion.start:
            break
    for commit in store.history(state.repo, store.commit(state.repo, target)):
        if commit.id in own:
            return commit
    return None


def conflicts(base: Tree, ours: Tree, theirs: Tree) -> list[str]:
    """The files both sides changed since ``base``, differently."""
    paths = set(base) | set(ours) | set(theirs)
    return sorted(
        p
        for p in paths
        if ours.get(p) != base.get(p) and theirs.get(p) != base.get(p) and ours.get(p) != theirs.get(p)
    )


def merged_tree(base: Tree, ours: Tree, theirs: Tree) -> Tree:
    """``ours`` with every file ``theirs`` changed since ``base`` (deletions included)."""
    tree = dict(ours)
    for path in set(base) | set(theirs):
        if theirs.get(path) != base.get(path):
            if path in theirs:
                tree[path] = theirs[path]
            else:
                tree.pop(path, None)
    return tree


def _trees(store: Store, state: RepoState, discussion: Discussion) -> tuple[Tree, Tree, Tree | None]:
    """The trees of the merge base, of the pull request's head and of the target branch (if any)."""
    base = merge_base(store, state, discussion)
    head_sha = state.pulls.get(str(discussion.num))
    head = store.commit(state.repo, head_sha).tree if head_sha else {}
    target_sha = state.branches.get(discussion.target or "")
    target = store.commit(state.repo, target_sha).tree if target_sha else None
    return (base.tree if base else {}), head, target


def files_with_conflicts(store: Store, state: RepoState, discussion: Discussion) -> list[str]:
    """The conflicting files of an open (or draft) pull request; none once merged or closed."""
    if discussion.status not in ("open", "draft"):
        return []
    base, head, target = _trees(store, state, discussion)
    return conflicts(base, target, head) if target is not None else []


def diff(store: Store, state: RepoState, discussion: Discussion) -> str:
    """The pull request's changes since the merge base, as ``git diff`` prints them."""
    base, head, _ = _trees(store, state, discussion)
    return tree_diff(store, base, head)


def tree_diff(store: Store, base: Tree, head: Tree) -> str:
    """What changed from tree ``base`` to tree ``head``, as ``git diff`` prints it (cut at
    ``MAX_DIFF_CHARS``); a commit's page shows it against the commit's parent."""
    parts: list[str] = []
    size = 0
    for path in sorted(set(base) | set(head)):
        old, new = base.get(path), head.get(path)
        if old == new:
            continue
        part = _file_diff(store, path, old, new)
        size += len(part)
        if size > MAX_DIFF_CHARS:
            parts.append(f"... diff cut at {MAX_DIFF_CHARS} characters\n")
            break
        parts.append(part)
    return "".join(parts)


def _text(store: Store, entry: Entry | None) -> list[str] | None:
    """The lines git would diff (an LFS file's pointer); None for binary or very large files."""
    if entry is None:
        return []
    if entry.lfs:
        data = lfs_pointer(entry.sha256, entry.size)
    elif entry.size > MAX_DIFF_FILE_BYTES:
        return None
    else:
        data = store.read_blob(entry.sha256)
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _file_diff(store: Store, path: str, old: Entry | None, new: Entry | None) -> str:
    head = [f"diff --git a/{path} b/{path}\n"]
    zero = "0000000"
    if old is None:
        head += ["new file mode 100644\n", f"index {zero}..{new.oid[:7] if new else zero}\n"]
    elif new is None:
        head += ["deleted file mode 100644\n", f"index {old.oid[:7]}..{zero}\n"]
    else:
        head.append(f"index {old.oid[:7]}..{new.oid[:7]} 100644\n")
    before, after = _text(store, old), _text(store, new)
    source = f"a/{path}" if old is not None else "/dev/null"
    target = f"b/{path}" if new is not None else "/dev/null"
    if before is None or after is None:
        return "".join(head) + f"Binary files {source} and {target} differ\n"
    lines = difflib.unified_diff(before, after, source, target)
    body = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    return "".join(head) + body


def merge(store: Store, state: RepoState, discussion: Discussion, author: str, comment: str) -> Commit:
    """Merge the pull request into its target branch (with the repo's lock held); updates ``discussion``.

    Refused, with nothing written, unless it is an open pull request whose target branch exists and
    has no conflicting change.
    """
    if not discussion.is_pull_request:
        raise Invalid(f"#{discussion.num} is a discussion: only pull requests merge")
    if discussion.status != "open":
        fix = " (publish it first: change its status to open)" if discussion.status == "draft" else ""
        raise StoreError(f"pull request #{discussion.num} is {discussion.status}: it cannot be merged{fix}")
    base, head, target = _trees(store, state, discussion)
    branch = discussion.target or ""
    if target is None:
        raise StoreError(f"pull request #{discussion.num}: its target branch {branch!r} no longer exists")
    clashes = conflicts(base, target, head)
    if clashes:
        raise Conflict(
            f"pull request #{discussion.num} has conflicts with {branch}: {', '.join(clashes[:20])}"
            f"{' ...' if len(clashes) > 20 else ''}; update it on top of {branch} first"
        )
    tree = merged_tree(base, target, head)
    _check_file_folder_clash(tree)  # a file one side added where the other side added a folder
    parent = state.branches[branch]
    commit = Commit.create((parent,), f"{discussion.title} (#{discussion.num})", comment, author, tree)
    store.save_commit(state.repo, commit)
    store.move_ref(state, branch, commit.id)
    discussion.status, discussion.merge_commit = "merged", commit.id
    if comment:
        discussion.events.append(Event.new("comment", author, comment))
    discussion.events.append(Event.new("status-change", author, "merged"))
    return commit
