"""Writing files as huggingface_hub does: ``preupload`` (regular or LFS, ignored or not), the LFS batch
API and its signed upload URL, and the NDJSON commit (to a branch, ``refs/pr/N``, or a new pull request).

A stored object may be committed without uploading it only by a user who could read it already
(:meth:`UploadRoutes.may_reference`); ``eval.yaml`` and ``.eval_results`` are checked before anything is
stored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hubrerank.server.auth import Account, UploadSigner
from hubrerank.server.call import Failure, JsonObject, parse_json
from hubrerank.server.eval_files import check_pushed_file, check_pushed_object
from hubrerank.server.gitignore import GitIgnore
from hubrerank.server.objects import (
    SHA256_RE,
    AddFile,
    DeleteFile,
    DeleteFolder,
    Entry,
    Invalid,
    Operation,
    Repo,
    StoreError,
    validate_path,
)
from hubrerank.server.storage import Store
from hubrerank.server.views import LfsRules

if TYPE_CHECKING:
    from hubrerank.server.call import Call

_UPLOAD_CHUNK = 1024 * 1024  # an LFS upload is written to disk in pieces of this size


class UploadRoutes:
    """The writing handlers (mixed into HubApp, which provides ``store``, ``signer``, ``readable``,
    ``committable`` and ``open_with_commit``)."""

    store: Store
    signer: UploadSigner

    def preupload(self, call: Call, repo_type: str) -> Response:
        state = self.committable(call, repo_type, call.params["rev"])
        commit = self.store.resolve(state, call.params["rev"])
        rules = LfsRules(self.store, commit, repo_type)
        body = call.json()
        ignore = GitIgnore(self.store, commit, body.get("gitIgnore", str))
        answers = []
        for item in body.objects("files"):
            path = _path_to_write(item.get("path", str, required=True))
            try:
                sample = base64.b64decode(item.get("sample", str) or "", validate=True)
            except binascii.Error:
                raise Failure(400, f"{item.name('sample')} of {path!r} is not base64") from None
            size = item.get("size", int) or 0
            if size < 0:
                raise Failure(400, f"{item.name('size')} of {path!r} must be a non-negative integer")
            lfs = rules.is_lfs(path, size, sample)
            existing = commit.tree.get(path)
            oid = None if existing is None else (existing.sha256 if existing.lfs else existing.oid)
            answers.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": ignore.ignores(path),
                    "oid": oid,
                }
            )
        return JSONResponse({"files": answers, "commitOid": commit.id})

    def may_reference(self, user: Account, repo: Repo, oid: str) -> bool:
        """True if ``user`` may commit stored object ``oid`` into ``repo`` without uploading it.

        That is: they uploaded it themselves, ``repo`` already holds it, or a repo they can read
        does. Anything else must be uploaded (and so proven) first, as if the server lacked it.
        """
        if not self.store.has_blob(oid):
            return False
        if self.store.uploaded_by(user.name, oid) or self.store.repo_holds(repo, oid):
            return True
        for other in self.store.repos_holding(oid):
            with contextlib.suppress(StoreError):
                if not self.store.state(other).private or user.owns(other.ns):
                    return True
        return False

    def lfs_batch(self, call: Call, repo_type: str) -> Response:
        """Upload actions for every object the caller may not reference yet (stored or not).

        For the ``ref`` named (``{"ref": {"name": ...}}``) the caller must be able to commit to it;
        without one (what huggingface_hub sends for ``create_pr=True``) any signed-in reader may
        upload, as on the Hub: the commit route checks what the objects then go into.
        """
        user = call.require_user()
        body = call.json()
        ref = JsonObject(body.get("ref", dict) or {}, "ref").get("name", str)
        if ref is None:
            state = self.readable(call, repo_type)
        else:
            state = self.committable(call, repo_type, ref.removeprefix("refs/heads/"))
        if body.get("operation", str) != "upload":
            raise Failure(400, "'operation': the embedded Hub's LFS endpoint only accepts uploads")
        objects = []
        for item in body.objects("objects"):
            oid, size = item.get("oid", str, required=True), item.get("size", int, required=True)
            answer: dict[str, Any] = {"oid": oid, "size": size}
            if not SHA256_RE.match(oid) or size < 0:
                answer["error"] = {"code": 422, "message": "oid must be a sha256 and size a non-negative int"}
            elif not (self.may_reference(user, state.repo, oid) and self.store.claim_blob(oid)):
                # claim_blob refreshes a referenced blob's mtime: gc's grace period then keeps it
                query = urlencode(self.signer.sign(oid, size, user.name))
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
        """Stream one LFS object to disk, verify its sha256 and size, then add it to the blob store.

        The bytes are always received and verified, also for objects already stored. More bytes than
        the URL was signed for are refused as they arrive (413), and the partial file is deleted.
        """
        oid, query = call.params["oid"], call.request.query_params
        user = query.get("user", "")
        if not SHA256_RE.match(oid) or not self.signer.check(
            oid, query.get("size", ""), query.get("expires", ""), user, query.get("sig", "")
        ):
            raise Failure(403, "invalid or expired upload URL; ask the LFS batch endpoint for a new one")
        size = int(query["size"])
        too_large = Failure(413, f"upload is larger than the {size} bytes its URL was signed for")
        declared = call.stream.declared()
        if declared is not None and declared > size:
            raise too_large
        writer = await run_in_threadpool(self.store.blob_writer)
        pending: asyncio.Task | None = None  # one chunk is written while the next one arrives
        try:
            buffer = bytearray()
            async for chunk in call.stream.chunks():
                if call.stream.received > size:
                    raise too_large
                buffer += chunk
                if len(buffer) >= _UPLOAD_CHUNK:
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(run_in_threadpool(writer.write, bytes(buffer)))
                    buffer.clear()
            if pending is not None:
                await pending
            await run_in_threadpool(writer.write, bytes(buffer))
            await run_in_threadpool(writer.finish, oid, size)
            await run_in_threadpool(self.store.record_upload, user, oid)
        finally:
            if pending is not None and not pending.done():
                with contextlib.suppress(Exception):
                    await pending
            await run_in_threadpool(writer.abort)
        return Response(status_code=200)

    def commit(self, call: Call, repo_type: str) -> Response:
        """An NDJSON commit to a branch or ``refs/pr/N``; with ``?create_pr=1``, a new pull request
        against branch ``rev`` holding it (started at ``parentCommit`` if given)."""
        user = call.require_user()
        ref = call.params["rev"].removeprefix("refs/heads/")
        state = self.committable(call, repo_type, ref)
        header, operations = self._parse_commit(call.body, user, state.repo)
        title = header.get("summary", str) or "Update"
        message = header.get("description", str) or ""
        parent = header.get("parentCommit", str)
        pull_url = None
        if call.flag("create_pr"):
            commit, pull_url = self.open_with_commit(call, state, ref, operations, title, message, parent)
        else:
            commit = self.store.apply(
                state.repo, ref, operations, title=title, message=message, author=user.name, parent=parent
            )
        url = f"{call.base_url}/{state.repo.url_path}/commit/{commit.id}"
        return JSONResponse(
            {
                "success": True,
                "commitOid": commit.id,
                "commitUrl": url,
                "hookOutput": "",
                "pullRequestUrl": pull_url,
            }
        )

    def _parse_commit(self, body: bytes, user: Account, repo: Repo) -> tuple[JsonObject, list[Operation]]:
        """The NDJSON commit payload: a header line, then file / lfsFile / deletedFile / deletedFolder."""
        header: JsonObject | None = None
        operations: list[Operation] = []
        for number, line in enumerate(body.splitlines(), 1):
            if not line.strip():
                continue
            context = f"commit line {number}: "
            item = JsonObject(parse_json(line, f"commit line {number}"), context=context)
            key = item.get("key", str, required=True)
            value = JsonObject(item.get("value", dict, required=True), "value", context)
            if key == "header":
                header = value
                continue
            if key not in ("file", "lfsFile", "deletedFile", "deletedFolder"):
                raise Failure(400, f"commit line {number}: unknown 'key' {key!r}")
            path = value.get("path", str, required=True)
            path = _path_to_write(path.rstrip("/") if key == "deletedFolder" else path)
            if key == "file":
                if (value.get("encoding", str) or "base64") != "base64":
                    raise Failure(400, f"{value.name('encoding')} of {path!r}: only base64 is supported")
                try:
                    data = base64.b64decode(value.get("content", str) or "", validate=True)
                except binascii.Error:
                    raise Failure(400, f"{value.name('content')} of {path!r} is not base64") from None
                check_pushed_file(repo.type, path, data)  # eval.yaml, .eval_results: before storing anything
                operations.append(AddFile(path, self.store.put_blob(data)))
            elif key == "lfsFile":
                entry = self._lfs_entry(path, value, user, repo)
                check_pushed_object(repo.type, path, entry.size, self.store.blob_path(entry.sha256))
                operations.append(AddFile(path, entry))
            elif key == "deletedFile":
                operations.append(DeleteFile(path))
            else:
                operations.append(DeleteFolder(path))
        if header is None:
            raise Failure(400, "commit payload has no header line")
        return header, operations

    def _lfs_entry(self, path: str, value: JsonObject, user: Account, repo: Repo) -> Entry:
        """The entry of an ``lfsFile`` line: an object the committer may reference (see may_reference)."""
        oid, declared = value.get("oid", str, required=True), value.get("size", int)
        if not SHA256_RE.match(oid):
            raise Failure(400, f"{value.name('oid')} of {path!r} must be a sha256")
        if not self.may_reference(user, repo, oid):
            raise Failure(422, f"lfsFile {path!r}: object {oid} was not uploaded; upload it via LFS first")
        size = self.store.blob_path(oid).stat().st_size
        if declared is not None and declared != size:
            raise Failure(422, f"lfsFile {path!r}: size {declared} is not the stored {size} bytes")
        return Entry.large(oid, size)


def _path_to_write(path: str) -> str:
    """A file path a preupload or commit names; 422 if invalid, as the Hub answers (400 in a URL)."""
    try:
        return validate_path(path)
    except Invalid as error:
        raise Failure(422, str(error)) from None
