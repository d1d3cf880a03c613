"""One API request as the handlers read it: its body (counted, capped, timed out), its JSON (read field
by field, a wrong type a 400 naming the field), its caller; and :class:`Failure`, the error answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request

from hubrerank.server.auth import Account

BODY_IDLE_TIMEOUT_S = 60.0  # a body that stops arriving for this long is answered 408 and closed
_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", list: "a list", dict: "an object"}


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


def parse_json(text: bytes | str, what: str) -> Any:
    """Parse JSON; 400 if malformed or nested too deeply for the parser."""
    try:
        return json.loads(text)
    except ValueError:
        raise Failure(400, f"{what} is not valid JSON") from None
    except RecursionError:
        raise Failure(400, f"{what} is nested too deeply") from None


class JsonObject:
    """A JSON object from a request, read field by field with explicit types (400 naming the field).

    ``path`` is where the object sits in the request (``files[0]``; empty for the body itself) and
    ``context`` what the request is (``commit line 2: ``): both go into error messages.
    """

    def __init__(self, data: Any, path: str = "", context: str = "") -> None:
        self.path, self.context = path, context
        if not isinstance(data, dict):
            self.fail(f"'{path}' must be a JSON object" if path else "the request body must be a JSON object")
        self.data: dict[str, Any] = data

    def name(self, key: str) -> str:
        """``key`` as error messages name it: quoted, with its path (``'files[0].size'``)."""
        return f"'{self.path}.{key}'" if self.path else f"'{key}'"

    def fail(self, message: str) -> None:
        raise Failure(400, f"{self.context}{message}")

    def get(self, key: str, kind: type, *, required: bool = False) -> Any:
        """The field ``key`` if it is a ``kind`` (bools are not ints), None if absent or null."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(f"{self.name(key)} is required")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(f"{self.name(key)} must be {_TYPE_NAMES[kind]}, not {type(value).__name__}")
        return value

    def objects(self, key: str) -> list[JsonObject]:
        """The field ``key`` as a list of objects (absent: empty)."""
        items = self.get(key, list) or []
        label = f"{self.path}.{key}" if self.path else key
        return [JsonObject(item, f"{label}[{i}]", self.context) for i, item in enumerate(items)]


class Body:
    """A request body read from ASGI ``receive``: counted, capped, and timed out when it stalls."""

    def __init__(self, request: Request) -> None:
        self._receive = request.receive
        self._request = request
        self.received = 0
        self.stalled = False
        framing = ("content-length", "transfer-encoding")
        self.done = not any(name in request.headers for name in framing)  # HTTP/1.1: no body at all

    def declared(self) -> int | None:
        """The Content-Length the client announced, if any."""
        value = self._request.headers.get("content-length", "")
        return int(value) if value.isdigit() else None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive; 408 if none comes for ``BODY_IDLE_TIMEOUT_S``."""
        while not self.done:
            try:
                message = await asyncio.wait_for(self._receive(), BODY_IDLE_TIMEOUT_S)
            except asyncio.TimeoutError:
                self.stalled = True
                raise Failure(408, f"request body stalled for {BODY_IDLE_TIMEOUT_S:.0f} s") from None
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            self.received += len(chunk)
            self.done = not message.get("more_body", False)
            if chunk:
                yield chunk

    async def read(self, limit: int, what: str) -> bytes:
        """The whole body; 413 naming ``limit`` if it is (or is announced as) larger."""
        too_large = Failure(413, f"request body of {what} is larger than its limit of {limit} bytes")
        declared = self.declared()
        if declared is not None and declared > limit:
            raise too_large
        data = bytearray()
        async for chunk in self.chunks():
            data += chunk
            if len(data) > limit:
                raise too_large
        return bytes(data)

    async def discard(self, limit: int) -> bool:
        """Read and drop up to ``limit`` more bytes; True if the body was then read whole."""
        declared = self.declared()
        if self.stalled or (declared is not None and declared - self.received > limit):
            return False
        with contextlib.suppress(ClientDisconnect, Failure):
            async for _ in self.chunks():
                if self.received > limit:
                    return False
        return self.done


@dataclass
class Call:
    """One request as handlers see it: unquoted path params, the body (unless streamed), the caller."""

    request: Request
    params: dict[str, str]
    body: bytes
    user: Account | None
    stream: Body

    @property
    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def flag(self, name: str) -> bool:
        return self.request.query_params.get(name, "").lower() in ("1", "true", "yes")

    def json(self) -> JsonObject:
        return JsonObject(parse_json(self.body or b"{}", "the request body"))

    def require_user(self) -> Account:
        if self.user is None:
            raise Failure(401, "You must be authenticated (send a token) to do this")
        return self.user
