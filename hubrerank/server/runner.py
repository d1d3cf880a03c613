"""Run the embedded Hub with uvicorn in a background thread of the current process."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from hubrerank.errors import ServerError
from hubrerank.server.app import build_app
from hubrerank.server.auth import Users, UserSpec
from hubrerank.server.storage import Store

_START_TIMEOUT_S = 30.0


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
        sock.listen(128)
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
    returns once the server accepts connections; ``url`` is then its address.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Sequence[UserSpec] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self._users = tuple(users)
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
        try:
            Store(self.data_dir).initialize()
        except OSError as error:
            raise ServerError(
                f"data dir {self.data_dir} is not writable ({error.strerror or error}); "
                "choose another with --data"
            ) from None
        Users(self.data_dir).merge(self._users)
        app = build_app(self.data_dir)
        self._socket = _bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
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
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt in the caller)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
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
