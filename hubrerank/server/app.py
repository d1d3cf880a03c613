"""The embedded Hub's HTTP API: the Starlette routes huggingface_hub and datasets call.

Routes match the raw, still percent-encoded path, so a revision sent as ``feature%2Fx`` stays one
segment; handlers see unquoted parameters. Every request body is read in full before answering,
errors included: an early answer would corrupt the next request on a keep-alive connection.
Handlers run in worker threads (they lock and fsync); only the LFS upload streams in the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

import yaml
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubrerank.server.auth import Account, UploadSigner, Users
from hubrerank.server.storage import (
    REPO_TYPES,
    SHA256_RE,
    AddFile,
    DeleteFile,
    DeleteFolder,
    Entry,
    EntryNotFound,
    Operation,
    Repo,
    RepoNotFound,
    RepoState,
    Store,
    StoreError,
    validate_path,
)
from hubrerank.server.views import (
    LastCommits,
    LfsRules,
    entry_json,
    folders,
    front_matter,
    load_card_yaml,
    repo_info,
)

access_log = logging.getLogger("hubrerank.server.access")
access_log.setLevel(logging.WARNING)  # `hubrerank hub serve` lowers it; in-process servers stay quiet
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
_STREAM_CHUNK = 1024 * 1024
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


class Failure(Exception):
    """An HTTP error answer: status, message (also sent as X-Error-Message) and optional X-Error-Code."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        body: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.body, self.headers = body or {}, headers or {}


@dataclass
class Call:
    """One request as handlers see it: unquoted path params, the whole body and the caller."""

    request: Request
    params: dict[str, str]
    body: bytes
    user: Account | None

    @property
    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def flag(self, name: str) -> bool:
        return self.request.query_params.get(name, "").lower() in ("1", "true", "yes")

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            raise Failure(400, "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Failure(400, "request body must be a JSON object")
        return data

    def require_user(self) -> Account:
        if self.user is None:
            raise Failure(401, "You must be authenticated (send a token) to do this")
        return self.user


class HubApp:
    """The handlers, bound to one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.store = Store(data_dir)
        self.users = Users(data_dir)
        self.signer = UploadSigner(data_dir)

    # ---- plumbing
    def endpoint(
        self, handler: Callable[..., Any], repo_type: str | None = None, streaming: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: read the body, authenticate, run it in a thread, map errors to answers."""

        async def run(request: Request) -> Response:
            user = None
            try:
                body = b"" if streaming else await request.body()
                user = self._authenticate(request)
                params = {k: unquote(v) for k, v in request.path_params.items()}
                call = Call(request, params, body, user)
                args = (call,) if repo_type is None else (call, repo_type)
                if streaming:
                    return await handler(*args)
                return await run_in_threadpool(handler, *args)
            except (Failure, StoreError) as error:
                await _drain(request)
                return _error_response(error, anonymous=user is None)
            except ClientDisconnect:
                return Response(status_code=400)

        return run

    def _authenticate(self, request: Request) -> Account | None:
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
        """The repo named by the URL if the caller may read it, else RepoNotFound (private looks missing)."""
        state = self.store.state(self._repo(call, repo_type))
        if state.private and not (call.user and call.user.owns(state.repo.ns)):
            raise RepoNotFound(f"{repo_type} repo {state.repo.id} not found")
        return state

    def writable(self, call: Call, repo_type: str) -> RepoState:
        """The repo named by the URL if the caller may write to it."""
        user = call.require_user()
        state = self.readable(call, repo_type)
        if not user.owns(state.repo.ns):
            raise Failure(403, f"You don't have the rights to write to {repo_type} repo {state.repo.id}")
        return state

    def _namespace_for(self, call: Call, body: dict) -> tuple[Account, Repo]:
        user = call.require_user()
        repo_type = body.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise Failure(400, f"unsupported repo type {repo_type!r}; the embedded Hub has model and dataset")
        name = body.get("name")
        if not isinstance(name, str):
            raise Failure(400, "missing repo 'name'")
        return user, Repo.parse(repo_type, body.get("organization") or user.name, name)

    # ---- account and repos
    def whoami(self, call: Call) -> Response:
        user = call.require_user()
        orgs = [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"} for org in user.orgs]
        return JSONResponse(
            {
                "type": "user",
                "id": user.name,
                "name": user.name,
                "fullname": user.name,
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
        visibility = body.get("visibility")
        private = visibility == "private" if visibility is not None else bool(body.get("private"))
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
        if state.private and not user.owns(repo.ns):
            raise RepoNotFound(f"{repo.type} repo {repo.id} not found")
        if not user.owns(repo.ns):
            raise Failure(403, f"You don't have the rights to delete {repo.type} repo {repo.id}")
        self.store.delete_repo(repo)
        return JSONResponse({})

    def settings(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        body = call.json()
        if body.get("gated") not in (None, False):
            raise Failure(400, "gated repos are not supported by the embedded Hub")
        if "visibility" in body:
            if body["visibility"] not in ("private", "public"):
                raise Failure(400, "visibility must be 'private' or 'public'")
            self.store.set_private(state.repo, body["visibility"] == "private")
        elif "private" in body:
            self.store.set_private(state.repo, bool(body["private"]))
        return JSONResponse({})

    def validate_yaml(self, call: Call) -> Response:
        content = call.json().get("content") or ""
        block = front_matter(content)
        try:
            data = load_card_yaml(block) if block is not None else {}
        except yaml.YAMLError as error:
            message = f"invalid YAML metadata: {str(error).splitlines()[0]}"
            raise Failure(400, message, body={"errors": [{"message": message}], "warnings": []}) from None
        if data is not None and not isinstance(data, dict):
            message = "the YAML metadata must be a mapping"
            raise Failure(400, message, body={"errors": [{"message": message}], "warnings": []})
        return JSONResponse({"errors": [], "warnings": []})

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
            paths, expand = body.get("paths") or [], bool(body.get("expand"))
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
        return JSONResponse({"branches": branches, "converts": [], "tags": tags, "pullRequests": []})

    def commits(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        head = self.store.resolve(state, call.params["rev"])
        return JSONResponse(
            [
                {
                    "id": c.id,
                    "title": c.title,
                    "message": c.message,
                    "date": c.date,
                    "authors": [{"user": c.author, "avatar": None}],
                }
                for c in self.store.history(state.repo, head)
            ]
        )

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
        response = FileResponse(self.store.blob_path(entry.sha256), headers=headers, media_type=media_type)
        response.chunk_size = _STREAM_CHUNK  # Starlette's 64 KB default halves the download rate
        return response

    # ---- writing
    def preupload(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        commit = self.store.resolve(state, call.params["rev"])
        rules = LfsRules(self.store, commit, repo_type)
        answers = []
        for item in call.json().get("files") or []:
            if not isinstance(item, dict):
                raise Failure(400, "preupload 'files' must be a list of objects")
            path = validate_path(item.get("path", ""))
            try:
                sample = base64.b64decode(item.get("sample") or "", validate=True)
            except binascii.Error:
                raise Failure(400, f"sample of {path!r} is not base64") from None
            size = item.get("size") or 0
            if not isinstance(size, int) or size < 0:
                raise Failure(400, f"size of {path!r} must be a non-negative integer")
            lfs = rules.is_lfs(path, size, sample)
            existing = commit.tree.get(path)
            oid = None if existing is None else (existing.sha256 if existing.lfs else existing.oid)
            answers.append(
                {"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        return JSONResponse({"files": answers, "commitOid": commit.id})

    def lfs_batch(self, call: Call, repo_type: str) -> Response:
        self.writable(call, repo_type)
        body = call.json()
        if body.get("operation") != "upload":
            raise Failure(400, "the embedded Hub's LFS endpoint only accepts uploads; download via /resolve")
        objects = []
        for item in body.get("objects") or []:
            oid, size = item.get("oid"), item.get("size")
            answer: dict[str, Any] = {"oid": str(oid), "size": size if isinstance(size, int) else -1}
            if not isinstance(oid, str) or not SHA256_RE.match(oid) or not isinstance(size, int) or size < 0:
                answer["error"] = {"code": 422, "message": "oid must be a sha256 and size a non-negative int"}
            elif not self.store.has_blob(oid):
                query = urlencode(self.signer.sign(oid, size))
                answer["authenticated"] = True
                answer["actions"] = {
                    "upload": {
                        "href": f"{call.base_url}/api/lfs-upload/{oid}?{query}",
                        "expires_in": self.signer.lifetime_s,
                    }
                }
            objects.append(answer)
        answer = {"transfer": "basic", "objects": objects}
        return JSONResponse(answer, media_type="application/vnd.git-lfs+json")

    async def lfs_upload(self, call: Call) -> Response:
        """Stream one LFS object to disk, verify its sha256 and size, then add it to the blob store."""
        oid, query = call.params["oid"], call.request.query_params
        if not SHA256_RE.match(oid) or not self.signer.check(
            oid, query.get("size", ""), query.get("expires", ""), query.get("sig", "")
        ):
            raise Failure(403, "invalid or expired upload URL; ask the LFS batch endpoint for a new one")
        size = int(query["size"])
        if await run_in_threadpool(self.store.has_blob, oid):
            await _drain(call.request)
            return Response(status_code=200)
        writer = await run_in_threadpool(self.store.blob_writer)
        pending: asyncio.Task | None = None  # one chunk is written while the next one arrives
        try:
            buffer = bytearray()
            async for chunk in call.request.stream():
                buffer += chunk
                if len(buffer) >= _STREAM_CHUNK:
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(run_in_threadpool(writer.write, bytes(buffer)))
                    buffer.clear()
            if pending is not None:
                await pending
            await run_in_threadpool(writer.write, bytes(buffer))
            await run_in_threadpool(writer.finish, oid, size)
        finally:
            if pending is not None and not pending.done():
                with contextlib.suppress(Exception):
                    await pending
            await run_in_threadpool(writer.abort)
        return Response(status_code=200)

    def commit(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        if call.flag("create_pr"):
            raise Failure(400, "pull requests are not supported by the embedded Hub; commit to a branch")
        header, operations = self._parse_commit(call.body)
        commit = self.store.apply(
            state.repo,
            call.params["rev"].removeprefix("refs/heads/"),
            operations,
            title=str(header.get("summary") or "Update"),
            message=str(header.get("description") or ""),
            author=call.require_user().name,
            parent=header.get("parentCommit"),
        )
        url = f"{call.base_url}/{state.repo.url_path}/commit/{commit.id}"
        return JSONResponse(
            {
                "success": True,
                "commitOid": commit.id,
                "commitUrl": url,
                "hookOutput": "",
                "pullRequestUrl": None,
            }
        )

    def _parse_commit(self, body: bytes) -> tuple[dict, list[Operation]]:
        """The NDJSON commit payload: a header line, then file / lfsFile / deletedFile / deletedFolder."""
        header: dict | None = None
        operations: list[Operation] = []
        for number, line in enumerate(body.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key, value = item["key"], item["value"]
                path = value.get("path") if key != "header" else None
            except (ValueError, KeyError, TypeError, AttributeError):
                raise Failure(400, f"commit payload line {number} is not a {{key, value}} object") from None
            if key == "header":
                header = value
            elif key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise Failure(400, f"file {path!r}: only base64 encoding is supported")
                try:
                    data = base64.b64decode(value.get("content") or "", validate=True)
                except binascii.Error:
                    raise Failure(400, f"file {path!r}: content is not base64") from None
                operations.append(AddFile(validate_path(path), self.store.put_blob(data)))
            elif key == "lfsFile":
                operations.append(AddFile(validate_path(path), self._lfs_entry(path, value)))
            elif key == "deletedFile":
                operations.append(DeleteFile(validate_path(path)))
            elif key == "deletedFolder":
                operations.append(DeleteFolder(validate_path(path.rstrip("/"))))
            else:
                raise Failure(400, f"commit payload line {number}: unknown key {key!r}")
        if header is None:
            raise Failure(400, "commit payload has no header line")
        return header, operations

    def _lfs_entry(self, path: str, value: dict) -> Entry:
        oid = value.get("oid")
        if not isinstance(oid, str) or not SHA256_RE.match(oid):
            raise Failure(400, f"lfsFile {path!r}: oid must be a sha256")
        if not self.store.has_blob(oid):
            raise Failure(422, f"lfsFile {path!r}: object {oid} was not uploaded; upload it via LFS first")
        size = self.store.blob_path(oid).stat().st_size
        if value.get("size") is not None and value["size"] != size:
            raise Failure(422, f"lfsFile {path!r}: size {value['size']} is not the stored {size} bytes")
        return Entry.large(oid, size)

    def create_branch(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        self.store.create_branch(state.repo, call.params["branch"], call.json().get("startingPoint"))
        return JSONResponse({})

    def delete_branch(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        self.store.delete_branch(state.repo, call.params["branch"])
        return JSONResponse({})

    def create_tag(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        body = call.json()
        if not isinstance(body.get("tag"), str):
            raise Failure(400, "missing 'tag' name")
        self.store.create_tag(state.repo, body["tag"], call.params["rev"], str(body.get("message") or ""))
        return JSONResponse({})

    def delete_tag(self, call: Call, repo_type: str) -> Response:
        state = self.writable(call, repo_type)
        self.store.delete_tag(state.repo, call.params["rev"])
        return JSONResponse({})

    async def not_found(self, call: Call) -> Response:
        raise Failure(404, f"no route for {call.request.method} {call.request.scope['path']}")

    def unnamespaced(self, call: Call, repo_type: str) -> Response:
        name = call.params["name"]
        raise RepoNotFound(f"{repo_type} repo {name!r} not found: ids on the embedded Hub are NS/NAME")

    def list_repos(self, call: Call, repo_type: str) -> Response:
        """``GET /api/models?author=NS&search=TEXT``: the repos the caller may read, newest first."""
        query = call.request.query_params
        author, search = query.get("author"), query.get("search", "")
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
        routes = [
            Route("/api/whoami-v2", self.endpoint(self.whoami), methods=["GET"]),
            Route("/api/repos/create", self.endpoint(self.create_repo), methods=["POST"]),
            Route("/api/repos/delete", self.endpoint(self.delete_repo), methods=["DELETE"]),
            Route("/api/validate-yaml", self.endpoint(self.validate_yaml), methods=["POST"]),
            Route("/api/lfs-upload/{oid}", self.endpoint(self.lfs_upload, streaming=True), methods=["PUT"]),
        ]
        for repo_type in ("dataset", "model"):  # datasets first: "/datasets/ns/name/..." is never a model
            api = f"/api/{repo_type}s/{{ns}}/{{name}}"
            web = "/{ns}/{name}" if repo_type == "model" else "/datasets/{ns}/{name}"
            table: list[tuple[str, Callable[..., Any], list[str]]] = [
                (api, self.repo_info, ["GET"]),
                (f"{api}/revision/{{rev}}", self.repo_info, ["GET"]),
                (f"{api}/tree/{{rev}}", self.tree, ["GET"]),
                (f"{api}/tree/{{rev}}/{{path:path}}", self.tree, ["GET"]),
                (f"{api}/paths-info/{{rev}}", self.paths_info, ["POST"]),
                (f"{api}/refs", self.refs, ["GET"]),
                (f"{api}/commits/{{rev}}", self.commits, ["GET"]),
                (f"{api}/preupload/{{rev}}", self.preupload, ["POST"]),
                (f"{api}/commit/{{rev}}", self.commit, ["POST"]),
                (f"{api}/branch/{{branch}}", self.create_branch, ["POST"]),
                (f"{api}/branch/{{branch}}", self.delete_branch, ["DELETE"]),
                (f"{api}/tag/{{rev}}", self.create_tag, ["POST"]),
                (f"{api}/tag/{{rev}}", self.delete_tag, ["DELETE"]),
                (f"{api}/settings", self.settings, ["PUT"]),
                (f"{web}/resolve/{{rev}}/{{path:path}}", self.resolve, ["GET", "HEAD"]),
                (f"{web}.git/info/lfs/objects/batch", self.lfs_batch, ["POST"]),
            ]
            routes += [Route(path, self.endpoint(fn, repo_type), methods=m) for path, fn, m in table]
        for repo_type in ("dataset", "model"):  # listing, and ids without a namespace (always missing)
            api = f"/api/{repo_type}s"
            web = "" if repo_type == "model" else "/datasets"
            table = [
                (api, self.list_repos, ["GET"]),
                (f"{api}/{{name}}", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/revision/{{rev}}", self.unnamespaced, ["GET"]),
                (f"{api}/{{name}}/tree/{{rest:path}}", self.unnamespaced, ["GET"]),
                (f"{web}/{{name}}/resolve/{{rest:path}}", self.unnamespaced, ["GET", "HEAD"]),
            ]
            routes += [Route(path, self.endpoint(fn, repo_type), methods=m) for path, fn, m in table]
        not_found = self.endpoint(self.not_found, streaming=True)
        routes.append(Route("/{rest:path}", not_found, methods=_ALL_METHODS))
        return routes


async def _drain(request: Request) -> None:
    """Read whatever is left of the request body (it may already have been read)."""
    try:
        async for _ in request.stream():
            pass
    except (RuntimeError, ClientDisconnect):
        pass


def _error_response(error: Exception, anonymous: bool) -> Response:
    if isinstance(error, Failure):
        status, message, code = error.status, error.message, error.code
        body, headers = error.body, error.headers
    else:
        assert isinstance(error, StoreError)
        status, message, code, body, headers = error.status, str(error), error.code, {}, {}
        if isinstance(error, RepoNotFound) and anonymous:
            status = 401  # like the Hub: a missing or private repo asks anonymous callers to log in
    header_message = re.sub(r"[\x00-\x1f\x7f]", " ", message).encode("ascii", "replace").decode()
    headers = {**headers, "X-Error-Message": header_message}
    if code:
        headers["X-Error-Code"] = code
    return JSONResponse({"error": message, **body}, status_code=status, headers=headers)


class _RawPathRouting:
    """Route on the raw path, so percent-encoded slashes stay inside their segment."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("raw_path"):
            scope = dict(scope, path=scope["raw_path"].decode("latin-1").split("?", 1)[0])
        await self.app(scope, receive, send)


def log_safe(text: str) -> str:
    """``text`` with anything but printable ASCII escaped, so a request cannot forge log lines."""
    return re.sub(r"[^\x20-\x7e]|\\", lambda m: m.group().encode("unicode_escape").decode(), text)


class _AccessLog:
    """One line per request: method, raw path (never the query: it may carry an upload signature), status.

    The path is logged as sent (still percent-encoded) and escaped: ``%0A`` must not start a new line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            path = scope.get("raw_path") or scope.get("path", "").encode()
            access_log.info('"%s %s" %s', log_safe(scope["method"]), log_safe(path.decode("latin-1")), status)


def build_app(data_dir: Path) -> ASGIApp:
    """The embedded Hub as an ASGI app serving ``data_dir`` (which must be initialized)."""
    hub = HubApp(data_dir)
    return _AccessLog(_RawPathRouting(Starlette(routes=hub.routes())))
