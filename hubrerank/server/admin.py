"""Repo administration routes of the embedded Hub: move, super-squash, LFS file purge, auth-check.

``POST /api/repos/move``, ``POST /api/{type}s/{id}/super-squash/{branch}``,
``GET /api/{type}s/{id}/lfs-files``, ``POST /api/{type}s/{id}/lfs-files/batch`` and
``GET /api/{type}s/{id}/auth-check[/write]``, as huggingface_hub's ``move_repo``,
``super_squash_history``, ``list_lfs_files``, ``permanently_delete_lfs_files`` and ``auth_check``
call them. History rewrites leave the old commits and blobs on disk until ``hubrerank hub gc``.

A moved repo's old id keeps working, as on the Hub: ``redirects/<type>s/<ns>/<name>.json`` names the
new id, and readers of the old one are redirected (307) until a repo of that name is created again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from hubrerank.server.disk import fsync_dir, make_dirs, write_json_atomic
from hubrerank.server.objects import Commit, Conflict, Invalid, Repo, RepoNotFound, RepoState, StoreError
from hubrerank.server.storage import Store

if TYPE_CHECKING:
    from hubrerank.server.call import Call


class Forbidden(StoreError):
    status = 403


def _redirect_file(store: Store, repo: Repo) -> Path:
    return store.root / "redirects" / f"{repo.type}s" / repo.ns.lower() / f"{repo.name.lower()}.json"


def moved_to(store: Store, repo: Repo) -> Repo | None:
    """Where ``repo`` (which does not exist) was moved to, following moves of moves; None if nowhere."""
    for _ in range(20):  # a chain of renames, never a loop: a move onto a redirect removes it
        try:
            target = json.loads(_redirect_file(store, repo).read_bytes())["to"]
        except FileNotFoundError:
            return None
        repo = store.stored_name(Repo(repo.type, *target.split("/")))
        if (store._dir(repo) / "repo.json").exists():
            return repo
    return None


def move_repo(store: Store, source: Repo, target: Repo) -> Repo:
    """Rename ``source`` to ``target`` (any namespace); Conflict if ``target`` exists in any case."""
    first, second = sorted([source, target], key=lambda r: r.id.lower())
    with contextlib.ExitStack() as locks:
        locks.enter_context(store._lock(first))
        if first.id.lower() != second.id.lower():  # the lock is per case-insensitive id
            locks.enter_context(store._lock(second))
        source = store.state(source).repo
        existing = store.stored_name(target)
        if existing != source and (store._dir(existing) / "repo.json").exists():
            raise Conflict(f"A {target.type} repository called {existing.id} already exists")
        make_dirs(store._dir(target).parent)  # a new namespace folder is 0700 like every other
        os.rename(store._dir(source), store._dir(target))
        fsync_dir(store._dir(target).parent)
        fsync_dir(store._dir(source).parent)
        _redirect_file(store, target).unlink(missing_ok=True)
        if source.id.lower() != target.id.lower():
            write_json_atomic(_redirect_file(store, source), {"to": target.id})
    return target


def super_squash(store: Store, repo: Repo, branch: str, message: str, author: str) -> Commit:
    """Replace ``branch``'s (or ``refs/pr/N``'s) history by one commit holding its current tree.

    As on the Hub, a pull request's ref may be squashed too (other refs keep their history); the pull
    request then shows the squashed commit, and merging it compares trees as always.
    """
    with store._lock(repo):
        state = store.state(repo)
        head_sha = state.head(branch)
        if head_sha is None:
            raise Invalid(
                f"Invalid rev id: {branch} is not a branch of {state.repo.id}; only branches squash"
            )
        head = store.commit(state.repo, head_sha)
        commit = Commit.create((), message, "", author, dict(head.tree))
        write_json_atomic(store._dir(state.repo) / "commits" / f"{commit.id}.json", commit.to_json())
        store.move_ref(state, branch, commit.id)
    return commit


def lfs_files(store: Store, state: RepoState) -> list[dict[str, Any]]:
    """Every LFS object the repo's branches and pull requests reach: where and when it was first pushed."""
    found: dict[str, dict[str, Any]] = {}
    refs = [f"refs/heads/{name}" for name in sorted(state.branches, key=lambda name: (name != "main", name))]
    refs += [f"refs/pr/{num}" for num in sorted(state.pulls, key=int)]
    for ref in refs:
        head = store.commit(state.repo, state.head(ref.removeprefix("refs/heads/")) or "")
        for commit in reversed(list(store.history(state.repo, head))):  # oldest first
            for path, entry in sorted(commit.tree.items()):
                if entry.lfs and entry.sha256 not in found:
                    found[entry.sha256] = {
                        "fileOid": entry.sha256,
                        "oid": entry.oid,
                        "filename": path,
                        "size": entry.size,
                        "pushedAt": commit.date,
                        "ref": ref,
                    }
    return list(found.values())


def drop_lfs_files(store: Store, repo: Repo, sha256s: set[str]) -> None:
    """Rewrite every branch's, tag's and pull request's history without the files whose bytes are
    ``sha256s``."""
    with store._lock(repo):
        state = store.state(repo)
        rewritten: dict[str, str] = {}

        def rewrite(sha: str) -> str:
            chain = []
            for commit in store.history(state.repo, store.commit(state.repo, sha)):
                if commit.id in rewritten:
                    break
                chain.append(commit)
            for commit in reversed(chain):  # oldest first: a commit's parent is rewritten before it
                parents = tuple(rewritten[p] for p in commit.parents)
                tree = {p: e for p, e in commit.tree.items() if e.sha256 not in sha256s}
                if parents == commit.parents and tree == commit.tree:
                    rewritten[commit.id] = commit.id
                    continue
                new = Commit.create(parents, commit.title, commit.message, commit.author, tree, commit.date)
                write_json_atomic(store._dir(state.repo) / "commits" / f"{new.id}.json", new.to_json())
                rewritten[commit.id] = new.id
            return rewritten[sha]

        branches = {name: rewrite(sha) for name, sha in state.branches.items()}
        tags = {name: {**tag, "target": rewrite(tag["target"])} for name, tag in state.tags.items()}
        pulls = {num: rewrite(sha) for num, sha in state.pulls.items()}
        store._write_refs(state, branches=branches, tags=tags, pulls=pulls)


class AdminRoutes:
    """The handlers (mixed into HubApp, which provides ``store``, ``readable`` and ``writable``)."""

    store: Store

    def move_repo(self, call: Call) -> Response:
        user = call.require_user()
        body = call.json()
        repo_type = body.get("type", str) or "model"
        ids = [body.get("fromRepo", str, required=True), body.get("toRepo", str, required=True)]
        if not all(i.count("/") == 1 for i in ids):
            raise Invalid("'fromRepo' and 'toRepo' must be repo ids NS/NAME")
        source, target = (Repo.parse(repo_type, *i.split("/")) for i in ids)
        state = self.store.state(source)
        if state.private and not user.owns(state.repo.ns):
            raise RepoNotFound(f"{repo_type} repo {source.id} not found")
        for ns in (state.repo.ns, target.ns):
            if not user.owns(ns):
                raise Forbidden(f"You don't have the rights to move {state.repo.id} to {target.id}")
        move_repo(self.store, state.repo, target)
        return JSONResponse({})

    def super_squash(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        branch = call.params["rev"].removeprefix("refs/heads/")
        message = call.json().get("message", str) or f"Super-squash branch '{branch}'"
        commit = super_squash(self.store, state.repo, branch, message, call.require_user().name)
        return JSONResponse({"commitId": commit.id})

    def list_lfs_files(self, call: Call, repo_type: str) -> Response:
        return JSONResponse(lfs_files(self.store, self.writable(call, repo_type)))

    def delete_lfs_files(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        deletions = call.json().get("deletions", dict, required=True)
        shas = deletions.get("sha")
        if not isinstance(shas, list) or not all(isinstance(s, str) for s in shas):
            raise Invalid("'deletions.sha' must be a list of LFS file sha256s")
        drop_lfs_files(self.store, state.repo, set(shas))
        return JSONResponse({})

    def auth_check(self, call: Call, repo_type: str) -> Response:
        if call.request.url.path.endswith("/write"):
            self.writable(call, repo_type)
        else:
            self.readable(call, repo_type)
        return JSONResponse({})

    if TYPE_CHECKING:

        def readable(self, call: Call, repo_type: str) -> RepoState: ...

        def writable(self, call: Call, repo_type: str) -> RepoState: ...
