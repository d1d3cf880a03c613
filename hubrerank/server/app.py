"""The embedded Hub's HTTP API: the Starlette routes huggingface_hub and datasets call.

Routes match the raw, still percent-encoded path (:mod:`hubrerank.server.middleware`), so a revision
sent as ``feature%2Fx`` stays one segment; handlers see unquoted parameters. The caller is authenticated
from the headers before any of the body is read (routes that need a user refuse anonymous callers right
away), and a body is read only up to its route's limit (413 beyond; :mod:`hubrerank.server.call`). A
request answered before its body was read whole is drained up to ``DRAIN_LIMIT`` (keeping the connection
usable) or else answered with ``Connection: close``. Handlers run in worker threads (they lock and
fsync); only the LFS upload streams in the event loop (:mod:`hubrerank.server.upload_routes`). Handlers
that take a repo lock (commits, refs, settings, create/delete) get their own few threads: writers queued
on one busy repo must never take the threads reads need.
"""

from __future__ import annotations

import errno
import html
import mimetypes
import re
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio
import anyio.to_thread
import yaml
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hubrerank.server.admin import AdminRoutes, moved_to
from hubrerank.server.auth import Account, UploadSigner, Users
from hubrerank.server.call import Body, Call, Failure, JsonObject
from hubrerank.server.discussion_routes import DiscussionRoutes
from hubrerank.server.disk import DISK_FULL_ERRNOS
from hubrerank.server.keys import KeyRoutes, VerifyKeys
from hubrerank.server.leaderboards import LeaderboardRoutes
from hubrerank.server.likes import LikeRoutes
from hubrerank.server.metadata import validation_answer
from hubrerank.server.middleware import wrap
from hubrerank.server.objects import (
    REPO_TYPES,
    EntryNotFound,
    Repo,
    RepoNotFound,
    RepoState,
    StoreError,
    validate_name,
    validate_path,
)
from hubrerank.server.storage import Store
from hubrerank.server.upload_routes import UploadRoutes
from hubrerank.server.views import (
    LastCommits,
    entry_json,
    folders,
    front_matter,
    load_card_yaml,
    repo_info,
)

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
DISK_FULL = "The embedded Hub's disk is full: nothing was written. Free space (hubrerank hub gc) and retry"
OUT_OF_FDS = "The embedded Hub is out of file descriptors (ulimit -n); nothing was written. Retry shortly"
MiB = 1024 * 1024
_STREAM_CHUNK = MiB  # file downloads are sent in pieces of this size
# Parsed JSON takes up to ~20x its size (``[[],[],...]``): routes open to anonymous callers get less.
JSON_LIMIT = 1 * MiB  # repo create/delete/settings, branches, tags; GET bodies
CARD_LIMIT = 2 * MiB  # validate-yaml (anonymous): a whole README
PATHS_LIMIT = 4 * MiB  # paths-info (anonymous on public repos): tens of thousands of paths
LIST_LIMIT = 16 * MiB  # preupload, LFS batch (writers only): the client sends a few hundred items
COMMIT_LIMIT = 256 * MiB  # NDJSON commit: regular files (< 10 MB each) inline, base64
DRAIN_LIMIT = 16 * MiB  # after an early answer, read at most this much more before closing instead
WRITE_THREADS = 8  # handlers that take a repo lock run on at most this many threads ...
MAX_WAITING_WRITES = 128  # ... and at most this many wait for one (then 503 + Retry-After)
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


class HubApp(AdminRoutes, LikeRoutes, DiscussionRoutes, LeaderboardRoutes, KeyRoutes, UploadRoutes):
    """The handlers, bound to one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.store = Store(data_dir)
        self.users = Users(data_dir)
        self.signer = UploadSigner(data_dir)
        self.verify_keys = VerifyKeys(data_dir)
        self._write_limiter: anyio.CapacityLimiter | None = None  # created in the event loop
        self._waiting_writes = 0

    # ---- plumbing
    def endpoint(
        self,
        handler: Callable[..., Any],
        repo_type: str | None = None,
        *,
        limit: int = JSON_LIMIT,
        needs_user: bool = False,
        streaming: bool = False,
        writes: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: authenticate, read the body (up to ``limit``), run it in a thread, map errors.

        ``needs_user``: anonymous callers are answered 401 before their body is read.
        ``streaming``: the handler is a coroutine that reads ``call.stream`` itself.
        ``writes``: the handler takes a repo lock; it runs on the writers' threads.
        """

        async def run(request: Request) -> Response:
            user = None
            body = Body(request)
            try:
                user = self.authenticate(request)
                if needs_user and user is None:
                    raise Failure(401, "You must be authenticated (send a token) to do this")
                what = f"{request.method} {request.url.path}"
                data = b"" if streaming else await body.read(limit, what)
                params = {k: unquote(v) for k, v in request.path_params.items()}
                call = Call(request, params, data, user, body)
                args = (call,) if repo_type is None else (call, repo_type)
                if streaming:
                    return await handler(*args)
                if writes:
                    return await self._run_write(handler, args)
                return await run_in_threadpool(handler, *args)
            except (Failure, StoreError) as error:
                response = _error_response(error, anonymous=user is None)
            except ClientDisconnect:
                return Response(status_code=400)
            except OSError as error:
                if error.errno in DISK_FULL_ERRNOS:
                    failure = Failure(507, DISK_FULL)
                elif error.errno in (errno.EMFILE, errno.ENFILE):
                    failure = Failure(503, OUT_OF_FDS, headers={"Retry-After": "1"})
                else:
                    raise
                response = _error_response(failure, anonymous=user is None)
            if not await body.discard(DRAIN_LIMIT):
                response.headers["Connection"] = "close"  # not worth reading the rest: drop the connection
            return response

        return run

    async def _run_write(self, handler: Callable[..., Response], args: tuple) -> Response:
        """Run a locking handler on one of ``WRITE_THREADS`` threads; 503 if too many already wait."""
        if self._waiting_writes >= MAX_WAITING_WRITES:
            message = f"{MAX_WAITING_WRITES} writes are already waiting; retry shortly"
            raise Failure(503, message, headers={"Retry-After": "2"})
        if self._write_limiter is None:
            self._write_limiter = anyio.CapacityLimiter(WRITE_THREADS)
        self._waiting_writes += 1
        try:
            return await anyio.to_thread.run_sync(handler, *args, limiter=self._write_limiter)
        finally:
            self._waiting_writes -= 1

    def authenticate(self, request: Request) -> Account | None:
        """The account of the request's Bearer token (None without one); 401 if it is not valid."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        user = self.users.authenticate(token) if scheme.lower() == "bearer" and token else None
        if user is None:
            raise Failure(401, INVALID_CREDENTIALS)
        return user

    def _repo(self, call: Call, repo_type: str) -> Repo:
        return Repo.parse(repo_type, call.params["ns"], call.params["name"])

    def readable(self, call: Call, repo_type: str) -> RepoState:
        """The repo named by the URL if the caller may read it, else RepoNotFound (private looks missing).

        The old id of a moved repo answers 307 to the same URL with the new id, as on the Hub.
        """
        repo = self._repo(call, repo_type)
        try:
            state = self.store.state(repo)
        except RepoNotFound:
            target = moved_to(self.store, repo)
            if target is None or not self.may_read(call, self.store.state(target)):
                raise
            path = call.request.scope["path"].replace(f"/{repo.ns}/{repo.name}", f"/{target.id}", 1)
            query = call.request.scope.get("query_string", b"").decode("latin-1")
            location = path + (f"?{query}" if query else "")
            raise Failure(307, f"Repository moved to {target.id}", headers={"Location": location}) from None
        if not self.may_read(call, state):
            raise RepoNotFound(f"{repo_type} repo {state.repo.id} not found")
        return state

    def may_read(self, call: Call, state: RepoState) -> bool:
        """True if the caller may read the repo: it is public, or theirs or their org's."""
        return not state.private or (call.user is not None and call.user.owns(state.repo.ns))

    def writable(self, call: Call, repo_type: str) -> RepoState:
        """The repo named by the URL if the caller may write to it."""
        user = call.require_user()
        state = self.readable(call, repo_type)
        if not user.owns(state.repo.ns):
            raise Failure(403, f"You don't have the rights to write to {repo_type} repo {state.repo.id}")
        return state

    def _namespace_for(self, call: Call, body: JsonObject) -> tuple[Account, Repo]:
        user = call.require_user()
        repo_type = body.get("type", str) or "model"
        if repo_type not in REPO_TYPES:
            raise Failure(400, f"unsupported repo type {repo_type!r}; the embedded Hub has model and dataset")
        name = body.get("name", str, required=True)
        return user, Repo.parse(repo_type, body.get("organization", str) or user.name, name)

    # ---- account and repos
    def whoami(self, call: Call) -> Response:
        user = call.require_user()
        orgs = [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"} for org in user.orgs]
        return JSONResponse(
            {
                "type": "user",
                "id": user.name,
                "name": user.name,
                "fullname": user.fullname or user.name,
                "email": None,
                "emailVerified": False,
                "isPro": False,
                "canPay": False,
                "orgs": orgs,
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": "hubrerank", "role": "write"},
                },
            }
        )

    def create_repo(self, call: Call) -> Response:
        body = call.json()
        user, repo = self._namespace_for(call, body)
        if not user.owns(repo.ns):
            raise Failure(403, f"You don't have the rights to create a {repo.type} in namespace {repo.ns}")
        visibility = body.get("visibility", str)
        if visibility not in (None, "private", "public"):
            raise Failure(400, "'visibility' must be 'private' or 'public'")
        private = visibility == "private" if visibility is not None else bool(body.get("private", bool))
        url = f"{call.base_url}/{repo.url_path}"
        try:
            self.store.create_repo(repo, private=private, author=user.name)
        except StoreError as error:
            if error.status == 409:
                raise Failure(409, f"You already created this {repo.type} repo", body={"url": url}) from None
            raise
        return JSONResponse({"url": url, "name": repo.id, "id": repo.id})

    def delete_repo(self, call: Call) -> Response:
        body = call.json()
        user, repo = self._namespace_for(call, body)
        state = self.store.state(repo)
        repo = state.repo
        if state.private and not user.owns(repo.ns):
            raise RepoNotFound(f"{repo.type} repo {repo.id} not found")
        if not user.owns(repo.ns):
            raise Failure(403, f"You don't have the rights to delete {repo.type} repo {repo.id}")
        self.store.delete_repo(repo)
        return JSONResponse({})

    def settings(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        body = call.json()
        if body.data.get("gated") not in (None, False):
            raise Failure(400, "'gated': gated repos are not supported by the embedded Hub")
        visibility, private = body.get("visibility", str), body.get("private", bool)
        if visibility is not None:
            if visibility not in ("private", "public"):
                raise Failure(400, "'visibility' must be 'private' or 'public'")
            self.store.set_private(state.repo, visibility == "private")
        elif private is not None:
            self.store.set_private(state.repo, private)
        return JSONResponse({})

    def validate_yaml(self, call: Call) -> Response:
        content = call.json().get("content", str) or ""
        block = front_matter(content)
        try:
            data = load_card_yaml(block) if block is not None else {}
        except yaml.YAMLError as error:
            message = f"invalid YAML metadata: {str(error).splitlines()[0]}"
            raise Failure(400, message, body={"errors": [{"message": message}], "warnings": []}) from None
        if data is not None and not isinstance(data, dict):
            message = "the YAML metadata must be a mapping"
            raise Failure(400, message, body={"errors": [{"message": message}], "warnings": []})
        return validation_answer(data, call.request.headers.get("accept", ""))

    # ---- reading
    def repo_info(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        commit = self.store.resolve(state, call.params.get("rev", "main"))
        return JSONResponse(repo_info(self.store, state, commit, blobs=call.flag("blobs")))

    def tree(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        commit = self.store.resolve(state, call.params["rev"])
        folder = call.params.get("path", "").strip("/")
        present = folders(commit.tree)
        if folder:
            validate_path(folder)
            if folder not in present:
                raise EntryNotFound(f"no folder {folder!r} in {state.repo.id}")
        prefix = folder + "/" if folder else ""
        paths = sorted(p for p in (*commit.tree, *present) if p.startswith(prefix))
        if not call.flag("recursive"):
            paths = [p for p in paths if "/" not in p[len(prefix) :]]
        last = LastCommits(self.store, state.repo, commit) if call.flag("expand") else None
        return JSONResponse([entry_json(commit, p, last) for p in paths])

    def paths_info(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        commit = self.store.resolve(state, call.params["rev"])
        if call.request.headers.get("content-type", "").startswith("application/json"):
            body = call.json()
            paths, expand = body.get("paths", list) or [], bool(body.get("expand", bool))
        else:
            form = parse_qs(call.body.decode("utf-8", errors="replace"))
            paths = form.get("paths", [])
            expand = form.get("expand", ["false"])[-1].lower() in ("1", "true")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise Failure(400, "'paths' must be a list of strings")
        wanted = [validate_path(p.strip("/")) for p in paths if p.strip("/")]
        present = folders(commit.tree)
        last = LastCommits(self.store, state.repo, commit) if expand else None
        found = [p for p in dict.fromkeys(wanted) if p in commit.tree or p in present]
        return JSONResponse([entry_json(commit, p, last) for p in found])

    def refs(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        branches = [
            {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha}
            for name, sha in sorted(state.branches.items())
        ]
        tags = [
            {"name": name, "ref": f"refs/tags/{name}", "targetCommit": tag["target"]}
            for name, tag in sorted(state.tags.items())
        ]
        pulls = [
            {"name": num, "ref": f"refs/pr/{num}", "targetCommit": sha}
            for num, sha in sorted(state.pulls.items(), key=lambda item: int(item[0]))
        ]
        answer = {"branches": branches, "converts": [], "tags": tags}
        return JSONResponse({**answer, "pullRequests": pulls if call.flag("include_prs") else []})

    def commits(self, call: Call, repo_type: str) -> Response:
        """A branch's history, newest first; ``?expand[]=formatted`` adds HTML of titles and messages."""
        state = self.readable(call, repo_type)
        head = self.store.resolve(state, call.params["rev"])
        formatted = "formatted" in call.request.query_params.getlist("expand[]")
        commits = []
        for c in self.store.history(state.repo, head):
            item: dict[str, Any] = {
                "id": c.id,
                "title": c.title,
                "message": c.message,
                "date": c.date,
                "authors": [{"user": c.author, "avatar": None}],
            }
            if formatted:  # the Hub renders markdown; escaped text is HTML a page can show as is
                item["formatted"] = {"title": html.escape(c.title), "message": html.escape(c.message)}
            commits.append(item)
        return JSONResponse(commits)

    def resolve(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        commit = self.store.resolve(state, call.params["rev"])
        path = validate_path(call.params["path"])
        entry = commit.tree.get(path)
        if entry is None:
            raise Failure(
                404,
                f"{path} not found in {state.repo.id}@{call.params['rev']}",
                "EntryNotFound",
                headers={"X-Repo-Commit": commit.id},
            )
        headers = {"X-Repo-Commit": commit.id, "ETag": f'"{entry.sha256 if entry.lfs else entry.oid}"'}
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)})
        media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        blob = self.store.blob_path(entry.sha256)
        stat = blob.stat()
        head = call.request.method == "HEAD"
        if "range" not in call.request.headers and (head or stat.st_size <= _STREAM_CHUNK):
            # Answered from this thread: FileResponse would stat, open, read and close the file on
            # four more threads, which made serving many small files cost twice the CPU.
            headers.update(
                {
                    "Content-Length": str(stat.st_size),
                    "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
                    "Accept-Ranges": "bytes",
                }
            )
            return Response(b"" if head else blob.read_bytes(), headers=headers, media_type=media_type)
        response = FileResponse(blob, headers=headers, media_type=media_type, stat_result=stat)
        response.chunk_size = _STREAM_CHUNK  # Starlette's 64 KB default halves the download rate
        return response

    def create_branch(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        self.store.create_branch(state.repo, call.params["branch"], call.json().get("startingPoint", str))
        return JSONResponse({})

    def delete_branch(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        self.store.delete_branch(state.repo, call.params["branch"])
        return JSONResponse({})

    def create_tag(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        body = call.json()
        tag, message = body.get("tag", str, required=True), body.get("message", str) or ""
        self.store.create_tag(state.repo, tag, call.params["rev"], message)
        return JSONResponse({})

    def delete_tag(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        self.store.delete_tag(state.repo, call.params["rev"])
        return JSONResponse({})

    async def not_found(self, call: Call) -> Response:
        raise Failure(404, f"no route for {call.request.method} {call.request.scope['path']}")

    def unnamespaced(self, call: Call, repo_type: str) -> Response:
        name = call.params["name"]
        message = f"{repo_type} repo {name!r} not found: ids on the embedded Hub are NS/NAME"
        raise Failure(404, message, "RepoNotFound")  # 404 also to anonymous callers: nothing to log in to

    def list_repos(self, call: Call, repo_type: str) -> Response:
        """``GET /api/models?author=NS&search=TEXT``: the repos the caller may read, newest first."""
        query = call.request.query_params
        author, search = query.get("author"), query.get("search", "")
        if author is not None:
            validate_name(author, "author")
        listed = []
        for state in self.store.list_repos(author):
            readable = not state.private or (call.user is not None and call.user.owns(state.repo.ns))
            if state.repo.type != repo_type or not readable or search.lower() not in state.repo.id.lower():
                continue
            head = self.store.resolve(state, "main")
            listed.append(
                {
                    "id": state.repo.id,
                    "author": state.repo.ns,
                    "sha": head.id,
                    "private": state.private,
                    "lastModified": head.date,
                    "createdAt": state.created_at,
                }
            )
        listed.sort(key=lambda item: item["lastModified"], reverse=True)
        return JSONResponse(listed)

    def routes(self) -> list[Route]:
        """Every route, with its body limit and whether it needs a user (checked before the body)."""
        user: dict[str, Any] = {"needs_user": True}
        lists = {"needs_user": True, "limit": LIST_LIMIT}
        write = {"needs_user": True, "writes": True}
        routes = [
            Route("/api/whoami-v2", self.endpoint(self.whoami, **user), methods=["GET"]),
            Route("/api/repos/create", self.endpoint(self.create_repo, **write), methods=["POST"]),
            Route("/api/repos/delete", self.endpoint(self.delete_repo, **write), methods=["DELETE"]),
            Route(
                "/api/validate-yaml", self.endpoint(self.validate_yaml, limit=CARD_LIMIT), methods=["POST"]
            ),
            Route("/api/repos/move", self.endpoint(self.move_repo, **write), methods=["POST"]),
            Route("/api/lfs-upload/{oid}", self.endpoint(self.lfs_upload, streaming=True), methods=["PUT"]),
            Route("/api/users/{user}/likes", self.endpoint(self.liked_repos), methods=["GET"]),
            Route(
                "/api/datasets/{ns}/{name}/leaderboard",
                self.endpoint(self.leaderboard, "dataset"),
                methods=["GET"],
            ),
            Route("/api/users/{user}/verify-keys", self.endpoint(self.user_keys), methods=["GET"]),
            Route("/api/verify-keys", self.endpoint(self.add_key, **user), methods=["POST"]),
            Route("/api/verify-keys/{kid}", self.endpoint(self.remove_key, **user), methods=["DELETE"]),
        ]
        for repo_type in ("dataset", "model"):  # datasets first: "/datasets/ns/name/..." is never a model
            api = f"/api/{repo_type}s/{{ns}}/{{name}}"
            web = "/{ns}/{name}" if repo_type == "model" else "/datasets/{ns}/{name}"
            table: list[tuple[str, Callable[..., Any], list[str], dict[str, Any]]] = [
                (api, self.repo_info, ["GET"], {}),
                (f"{api}/revision/{{rev}}", self.repo_info, ["GET"], {}),
                (f"{api}/tree/{{rev}}", self.tree, ["GET"], {}),
                (f"{api}/tree/{{rev}}/{{path:path}}", self.tree, ["GET"], {}),
                (f"{api}/paths-info/{{rev}}", self.paths_info, ["POST"], {"limit": PATHS_LIMIT}),
                (f"{api}/refs", self.refs, ["GET"], {}),
                (f"{api}/commits/{{rev}}", self.commits, ["GET"], {}),
                (f"{api}/preupload/{{rev}}", self.preupload, ["POST"], lists),
                (f"{api}/commit/{{rev}}", self.commit, ["POST"], {**write, "limit": COMMIT_LIMIT}),
                (f"{api}/branch/{{branch}}", self.create_branch, ["POST"], write),
                (f"{api}/branch/{{branch}}", self.delete_branch, ["DELETE"], write),
                (f"{api}/tag/{{rev}}", self.create_tag, ["POST"], write),
                (f"{api}/tag/{{rev}}", self.delete_tag, ["DELETE"], write),
                (f"{api}/settings", self.settings, ["PUT"], write),
                (f"{api}/super-squash/{{rev}}", self.super_squash, ["POST"], write),
                (f"{api}/lfs-files", self.list_lfs_files, ["GET"], user),
                (f"{api}/lfs-files/batch", self.delete_lfs_files, ["POST"], {**write, "limit": LIST_LIMIT}),
                (f"{api}/auth-check", self.auth_check, ["GET"], {}),
                (f"{api}/auth-check/write", self.auth_check, ["GET"], {}),
                (f"{api}/like", self.like, ["POST", "DELETE"], user),
                (f"{api}/likers", self.likers, ["GET"], {}),
                (f"{web}/resolve/{{rev}}/{{path:path}}", self.resolve, ["GET", "HEAD"], {}),
                (f"{web}.git/info/lfs/objects/batch", self.lfs_batch, ["POST"], lists),
                *self.discussion_table(api),
            ]
            routes += [
                Route(path, self.endpoint(fn, repo_type, **kw), methods=m) for path, fn, m, kw in table
            ]
        for repo_type in ("dataset", "model"):  # listing, and ids without a namespace (always missing)
            api = f"/api/{repo_type}s"
            web = "" if repo_type == "model" else "/datasets"
            listing: list[tuple[str, Callable[..., Any], list[str]]] = [
                (api, self.list_repos, ["GET"]),
                (f"{api}/{{name}}", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/revision/{{rev}}", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/tree/{{rest:path}}", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/commits/{{rest:path}}", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/like", self.unnamespaced, ["POST", "DELETE"]),
                (f"{api}/{{name}}/likers", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/discussions", self.unnamespaced, ["GET", "POST"]),
                (f"{api}/{{name}}/discussions/{{rest:path}}", self.unnamespaced, ["GET", "POST"]),
                (f"{web}/{{name}}/resolve/{{rest:path}}", self.unnamespaced, ["GET", "HEAD"]),
            ]
            routes += [Route(path, self.endpoint(fn, repo_type), methods=m) for path, fn, m in listing]
        return routes

    def catch_all(self, prefix: str = "") -> Route:
        """Anything under ``prefix`` no route before it matched: a 404 naming it (``/api`` before the
        pages, so that no page ever answers an API path; everything else last)."""
        endpoint = self.endpoint(self.not_found, streaming=True)
        return Route(f"{prefix}/{{rest:path}}", endpoint, methods=_ALL_METHODS)


def _error_response(error: Exception, anonymous: bool) -> Response:
    if isinstance(error, Failure):
        status, message, code = error.status, error.message, error.code
        body, headers = error.body, error.headers
    else:
        assert isinstance(error, StoreError)
        status, message, code, body, headers = error.status, str(error), error.code, {}, {}
        if isinstance(error, RepoNotFound):
            message = "Repository not found"  # the Hub's words: clients then print their own, fuller text
            if anonymous:
                status = 401  # like the Hub: a missing or private repo asks anonymous callers to log in
    header_message = re.sub(r"[\x00-\x1f\x7f]", " ", message).encode("ascii", "replace").decode()
    headers = {**headers, "X-Error-Message": header_message}
    if code:
        headers["X-Error-Code"] = code
    return JSONResponse({"error": message, **body}, status_code=status, headers=headers)


def build_app(data_dir: Path) -> ASGIApp:
    """The embedded Hub as an ASGI app serving ``data_dir`` (which must be initialized): the API, then
    the pages (which build on HubApp, hence imported here), then the catch-all 404."""
    from hubrerank.server.pages import page_routes

    hub = HubApp(data_dir)
    routes = [*hub.routes(), hub.catch_all("/api"), *page_routes(hub), hub.catch_all()]
    return wrap(Starlette(routes=routes))
