"""Likes, as huggingface_hub's ``unlike``, ``list_liked_repos`` and ``list_repo_likers`` call them.

``POST|DELETE /api/{type}s/{id}/like``, ``GET /api/users/{user}/likes`` and
``GET /api/{type}s/{id}/likers``. Each user's likes are one file, ``likes/<user>.json`` (repo key ->
when it was liked), rewritten whole under the user's lock. A like follows its repo when the repo is
moved, disappears with it when it is deleted, and is listed only to callers who may read the repo.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from hubrerank.server.admin import moved_to
from hubrerank.server.disk import file_lock, write_json_atomic
from hubrerank.server.objects import Repo, RepoNotFound, RepoState, StoreError, now_iso, validate_name
from hubrerank.server.storage import Store

if TYPE_CHECKING:
    from hubrerank.server.auth import Users
    from hubrerank.server.call import Call


class UserNotFound(StoreError):
    status = 404


@dataclass(frozen=True)
class Like:
    """A user's like of a repo (as stored: the repo's id when it was liked)."""

    repo: Repo
    created_at: str


class Likes:
    """The likes of every user of one data dir."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._dir = store.root / "likes"

    def _file(self, user: str) -> Path:
        return self._dir / f"{validate_name(user, 'user name')}.json"

    def _read(self, user: str) -> dict[str, str]:
        try:
            return json.loads(self._file(user).read_bytes())
        except FileNotFoundError:
            return {}

    def set(self, user: str, repo: Repo, liked: bool) -> None:
        """Like (or unlike) ``repo`` as ``user``; writes only if that changes anything."""
        with file_lock(self.store.root / "locks" / f"likes-{user}.lock"):
            likes = self._read(user)
            keys = [key for key in likes if self._current(_stored_repo(key)) == repo]  # also older ids
            if liked == bool(keys):
                return
            if liked:
                likes[f"{repo.type}/{repo.id}"] = now_iso()
            for key in keys:
                del likes[key]
            write_json_atomic(self._file(user), likes)

    def of_user(self, user: str) -> list[Like]:
        """``user``'s likes of repos that still exist (under their current id), newest first."""
        found = []
        for key, created_at in self._read(user).items():
            current = self._current(_stored_repo(key))
            if current is not None:
                found.append(Like(current, created_at))
        return sorted(found, key=lambda like: like.created_at, reverse=True)

    def _current(self, repo: Repo) -> Repo | None:
        with contextlib.suppress(RepoNotFound):
            return self.store.state(repo).repo
        return moved_to(self.store, repo)

    def users_liking(self, repo: Repo, users: list[str]) -> list[str]:
        """Which of ``users`` like ``repo``."""
        return [user for user in users if any(like.repo == repo for like in self.of_user(user))]


def _stored_repo(key: str) -> Repo:
    """The repo of a key of a likes file (``type/ns/name``)."""
    repo_type, ns, name = key.split("/")
    return Repo(repo_type, ns, name)


class LikeRoutes:
    """The handlers (mixed into HubApp, which provides ``store``, ``users`` and ``readable``)."""

    store: Store
    users: Users

    def like(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        Likes(self.store).set(user.name, state.repo, liked=call.request.method == "POST")
        return JSONResponse({})

    def liked_repos(self, call: Call) -> Response:
        user = call.params["user"]
        if user not in self.users.names():
            raise UserNotFound(f"user {user!r} not found")
        likes = []
        for like in Likes(self.store).of_user(user):
            state = self.store.state(like.repo)
            if not state.private or (call.user is not None and call.user.owns(state.repo.ns)):
                repo = {"name": state.repo.id, "type": state.repo.type}
                likes.append({"createdAt": like.created_at, "repo": repo})
        return JSONResponse(likes)

    def likers(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        fullnames = self.users.fullnames()
        likers = Likes(self.store).users_liking(state.repo, list(fullnames))
        return JSONResponse([{"user": u, "fullname": fullnames[u] or u, "avatarUrl": ""} for u in likers])

    if TYPE_CHECKING:

        def readable(self, call: Call, repo_type: str) -> RepoState: ...
