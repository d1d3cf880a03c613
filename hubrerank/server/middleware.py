"""The ASGI layers around the embedded Hub's routes: routing on the raw path, the access log, a request
id on every answer, and the sandboxing Content-Security-Policy of everything that is not a page."""

from __future__ import annotations

import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("hubrerank.server.access")
access_log.setLevel(logging.WARNING)  # `hubrerank hub serve` lowers it; in-process servers stay quiet
SANDBOX_CSP = b"default-src 'none'; sandbox"


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


class _ResponseHeaders:
    """A layer that adds headers to the response start of every HTTP answer (:meth:`added`, given the
    headers already there); other scopes pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def added(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                message = {**message, "headers": headers + self.added(headers)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _RequestId(_ResponseHeaders):
    """An ``X-Request-Id`` on every answer, as the Hub sends: clients quote it in their error messages."""

    def added(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [(b"x-request-id", uuid.uuid4().hex.encode())]


class _SandboxedContent(_ResponseHeaders):
    """Answers that are not pages (JSON, a repo's files) get a Content-Security-Policy that runs nothing.

    A repo's ``.html`` or ``.svg`` file opened from its download URL would otherwise run its scripts
    with this Hub's origin, next to the pages' session; pages set their own policy, which is kept.
    """

    def added(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {name.lower() for name, _ in headers}
        wanted = ((b"content-security-policy", SANDBOX_CSP), (b"x-content-type-options", b"nosniff"))
        return [(name, value) for name, value in wanted if name not in names]


def wrap(app: ASGIApp) -> ASGIApp:
    """``app`` inside every layer: the access log outermost, raw-path routing innermost."""
    return _AccessLog(_RequestId(_SandboxedContent(_RawPathRouting(app))))
