"""Run the embedded Hub with uvicorn in a background thread of the current process.

Connections are served by :class:`HubProtocol`, uvicorn's h11 protocol with what a server facing
untrusted clients needs: TCP_NODELAY (a kept-alive request otherwise waits ~40 ms for Nagle and
delayed ACKs), a deadline for request heads, 431/414 for oversized heads, one log line per
refused connection instead of a traceback, and a cap on connections below the file-descriptor
limit (server/connections.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import logging
import socket
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hubrerank.errors import ServerError
from hubrerank.server.app import build_app
from hubrerank.server.auth import Users, UserSpec
from hubrerank.server.connections import LISTEN_BACKLOG, ConnectionGuard, ConnectionLimits
from hubrerank.server.disk import data_dir_error
from hubrerank.server.gc import DEFAULT_GRACE_S, GcSchedule
from hubrerank.server.storage import Store

_START_TIMEOUT_S = 30.0
HEAD_TIMEOUT_S = 30.0  # a request line + headers must arrive within this, counted from their first byte
MAX_HEAD_BYTES = 64 * 1024  # request line + headers; beyond: 414 (the line alone) or 431 (headers)
_LINGER_S, _LINGER_BYTES = 2.0, 4 * 1024 * 1024  # after refusing a head: read (and drop) this much more
_ACCEPT_OUT_OF_RESOURCES = "socket.accept() out of system resource"  # asyncio's context message
_FULL_ANSWER = "the embedded Hub is at its connection limit and every connection is busy; retry shortly"
log = logging.getLogger("hubrerank.server.http")


class _OneLinePerRefusal(logging.Filter):
    """Drop uvicorn's generic notice for an unparsable head: HubProtocol logs a precise line itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Invalid HTTP request received."


log.addFilter(_OneLinePerRefusal())


class HubProtocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY, a head deadline, 431/414 for oversized heads, and
    admission by ``guard`` (which may close this or another connection when the server is full)."""

    def __init__(self, *args: object, guard: ConnectionGuard, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.logger = log  # uvicorn's own messages about these connections, in the server's log
        self.guard = guard
        self.waiting_since: float | None = None  # see connections.Connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        self._lingering = 0  # > 0: the answer is sent, dropping what the client still sends
        self._head_timer: asyncio.TimerHandle | None = None
        self.waiting_since = self.loop.time()
        if not self.guard.admit(self):
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._lingering += len(data)
            if self._lingering > _LINGER_BYTES:
                self.transport.close()
            return
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_head_timer()  # part of a head arrived: the rest must follow in time
        else:
            self._cancel_head_timer()
        self._track_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track_waiting()

    def _track_waiting(self) -> None:
        """A request in flight is never dropped; otherwise the connection waits since it went idle."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.waiting_since = None
        elif self.waiting_since is None:
            self.waiting_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self.guard.release(self)
        super().connection_lost(exc)

    def drop(self) -> None:
        self._cancel_head_timer()
        self.transport.close()

    def refuse(self) -> None:
        body = json.dumps({"error": _FULL_ANSWER}).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.warning("%s: no complete request head within %.0f s; closing", self._peer(), HEAD_TIMEOUT_S)
            self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"

    def send_400_response(self, msg: str) -> None:
        """Refuse an unparsable head: 414 for an oversized request line, 431 for oversized headers."""
        self._cancel_head_timer()
        buffered = self.conn.trailing_data[0]
        status, detail = HTTPStatus.BAD_REQUEST, "malformed request"
        if len(buffered) > MAX_HEAD_BYTES:
            if b"\n" not in buffered:
                status, detail = HTTPStatus.REQUEST_URI_TOO_LONG, f"request line over {MAX_HEAD_BYTES} bytes"
            else:
                status, detail = (
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    f"headers over {MAX_HEAD_BYTES} bytes",
                )
        log.warning("%s: %d %s", self._peer(), status, detail)
        body = json.dumps({"error": detail}).encode()
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        # Closing now, with the rest of the head unread, would reset the connection before the client
        # reads the answer: stop sending, drop what still arrives (bounded), then close.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._lingering = 1
        self.loop.call_later(_LINGER_S, self.transport.close)


class _GuardedServer(uvicorn.Server):
    """uvicorn's server, whose event loop counts failed ``accept()`` calls instead of logging each."""

    def __init__(self, config: uvicorn.Config, guard: ConnectionGuard) -> None:
        super().__init__(config)
        self.guard = guard

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()

        def handle(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            if context.get("message") == _ACCEPT_OUT_OF_RESOURCES:
                self.guard.accept_failed()  # asyncio retries accepting 1 s later by itself
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(handle)
        await super().startup(sockets)
        for sock in sockets or ():
            # asyncio passes one number as the kernel's queue and as the accepts per loop tick: the
            # queue may be long (queued connections hold no descriptor), the batch must stay small
            sock.listen(LISTEN_BACKLOG)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ServerError with a one-line reason if that fails."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as error:
        raise ServerError(f"cannot listen on host {host!r}: {error.strerror}; try --host 127.0.0.1") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ServerError(
                f"port {port} on {host} is in use; stop the other server or choose another --port "
                "(0 picks a free one)"
            ) from None
        raise ServerError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


class HubServer:
    """The embedded Hugging Face Hub-compatible server, serving ``data_dir``.

    ``users`` are merged into the data dir's users (same name: the new token wins). ``start()``
    returns once the server accepts connections; ``url`` is then its address. ``gc_every_s``: run
    the gc pass (server/gc.py) whenever none ran on the data dir for that long, keeping what is
    younger than ``gc_grace_s``; None (the default in Python, for tests) never runs it.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Sequence[UserSpec] = (),
        gc_every_s: float | None = None,
        gc_grace_s: float = DEFAULT_GRACE_S,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self._users = tuple(users)
        self._gc = None if gc_every_s is None else GcSchedule(self.data_dir, gc_every_s, gc_grace_s)
        self.limits: ConnectionLimits | None = None  # read at start
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def user_names(self) -> list[str]:
        """The users of the data dir (as they are now: users may be added or removed while serving)."""
        return list(Users(self.data_dir).orgs())

    def start(self) -> HubServer:
        self.limits = ConnectionLimits.read()
        try:
            Store(self.data_dir).initialize()
            Users(self.data_dir).merge(self._users)
            app = build_app(self.data_dir)
        except OSError as error:
            raise ServerError(data_dir_error(self.data_dir, error)) from None
        self._socket = _bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        guard = ConnectionGuard(self.limits)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http=functools.partial(HubProtocol, guard=guard),  # type: ignore[arg-type]
            timeout_keep_alive=30,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            proxy_headers=False,  # nothing reads the client address a proxy would forward
            backlog=self.limits.accept_batch,  # asyncio: accepts per loop tick (see _GuardedServer)
        )
        self._server = _GuardedServer(config, guard)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"hub-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"the embedded Hub on {self.host}:{self.port} did not start; see the log")
            time.sleep(0.005)
        if self._gc is not None:
            self._gc.start()
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt in the caller)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        if self._gc is not None:
            self._gc.stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
