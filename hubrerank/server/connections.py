"""How many connections the embedded Hub holds, which one it drops when full, and how it says so.

A process has ``ulimit -n`` file descriptors; each connection takes one, and a download or upload in
flight a second (the file it streams). Accepting until ``accept()`` fails with EMFILE locks every
client out (nothing can be opened any more) and asyncio logs a traceback per failed ``accept()``.
So the server reads the limit at start and holds at most :attr:`ConnectionLimits.max_connections`
connections, leaving the rest for repo files, lock files, logs and the connections one event-loop
tick may accept. When a new connection would exceed that, the one that has waited longest for a
request head (half-open or idle between requests) is closed to admit it; when every connection has
a request in flight, the new one is answered 503. Exhaustion is logged once per interval, with
counts, never once per event.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Protocol

from hubrerank.errors import ServerError

RESERVED_FDS = 64  # stdio, the event loop, the listening socket, logs; lock and temp files of handlers
FDS_PER_CONNECTION = 2  # its socket, and the file a download or upload streams
MIN_CONNECTIONS = 8
REPORT_INTERVAL_S = 10.0
LISTEN_BACKLOG = 1024  # connections the kernel queues until accepted: they hold no descriptor yet
log = logging.getLogger("hubrerank.server.http")


@dataclass(frozen=True)
class ConnectionLimits:
    """The file-descriptor limit read at start and what follows from it."""

    fd_limit: int  # the soft RLIMIT_NOFILE (``ulimit -n``)
    accept_batch: int  # the most connections one event-loop tick accepts (before any is dropped)
    max_connections: int

    @classmethod
    def for_fd_limit(cls, fd_limit: int) -> ConnectionLimits:
        """Limits for a process allowed ``fd_limit`` descriptors; ServerError if that is too few."""
        accept_batch = max(8, min(128, fd_limit // 16))
        max_connections = (fd_limit - RESERVED_FDS - accept_batch) // FDS_PER_CONNECTION
        if max_connections < MIN_CONNECTIONS:
            needed = RESERVED_FDS + accept_batch + FDS_PER_CONNECTION * MIN_CONNECTIONS
            raise ServerError(
                f"the file descriptor limit (ulimit -n {fd_limit}) is too low to serve; "
                f"raise it to at least {needed}"
            )
        return cls(fd_limit, accept_batch, max_connections)

    @classmethod
    def read(cls) -> ConnectionLimits:
        """Limits for this process' current ``ulimit -n`` (unlimited counts as 2**20)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return cls.for_fd_limit(2**20 if soft == resource.RLIM_INFINITY else soft)


class Connection(Protocol):
    """What the guard needs of a connection (runner.HubProtocol)."""

    waiting_since: float | None  # loop time since when it waits for a request head; None: busy

    def drop(self) -> None:
        """Close it: it waits for a request head, or idles between requests."""

    def refuse(self) -> None:
        """Answer 503 (the server is full of busy connections) and close it."""


class ConnectionGuard:
    """Admits connections up to ``limits.max_connections``, shedding the longest-waiting idle one."""

    def __init__(self, limits: ConnectionLimits, report_interval_s: float = REPORT_INTERVAL_S) -> None:
        self.limits = limits
        self._open: set[Connection] = set()
        self._report_interval_s = report_interval_s
        self._report: asyncio.TimerHandle | None = None
        self._dropped = self._refused = self._accept_failures = 0

    def admit(self, connection: Connection) -> bool:
        """Count a new connection in; False if it was refused (everyone else is busy)."""
        if len(self._open) >= self.limits.max_connections:
            waiting = [c for c in self._open if c.waiting_since is not None]
            if not waiting:
                self._refused += 1
                self._note()
                connection.refuse()
                return False
            oldest = min(waiting, key=lambda c: c.waiting_since or 0.0)
            self._open.discard(oldest)
            self._dropped += 1
            self._note()
            oldest.drop()
        self._open.add(connection)
        return True

    def release(self, connection: Connection) -> None:
        self._open.discard(connection)

    def accept_failed(self) -> None:
        """``accept()`` ran out of descriptors (files of handlers took them): counted, not a traceback."""
        self._accept_failures += 1
        self._note()

    def _note(self) -> None:
        """Log the first event at once, then what happened meanwhile once per interval."""
        if self._report is None:
            self._flush(first=True)

    def _flush(self, first: bool = False) -> None:
        events = self._dropped + self._refused + self._accept_failures
        if not events:
            self._report = None
            return
        period = "now" if first else f"in the last {self._report_interval_s:.0f} s"
        log.warning(
            "at the connection limit (%d connections, ulimit -n %d) %s: closed %d waiting connection(s) "
            "to admit new ones, refused %d (all busy), %d accept() failure(s) for lack of descriptors; "
            "%d open",
            self.limits.max_connections,
            self.limits.fd_limit,
            period,
            self._dropped,
            self._refused,
            self._accept_failures,
            len(self._open),
        )
        self._dropped = self._refused = self._accept_failures = 0
        self._report = asyncio.get_running_loop().call_later(self._report_interval_s, self._flush)
