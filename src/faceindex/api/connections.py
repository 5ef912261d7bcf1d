"""Connections: a deadline for each request's headers, a cap on open connections below the file
limit, and an accept loop that never spins when file descriptors run out.

uvicorn times out idle keep-alive connections, but not a request whose line and headers dribble in
(slowloris: any byte restarts its keep-alive clock). And asyncio's own accept loop, once accept()
fails with EMFILE, logs a traceback for every remaining slot of its backlog on every retry (about
5 MB of log a second), while no request is served. So faceindex accepts connections itself, one at
a time: at the cap it closes the connection idle longest (never one with a request in progress),
and if every connection is busy it stops accepting until one closes (the kernel queues the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from faceindex.api import logs

FD_RESERVE = 64  # file descriptors kept for the store, snapshots, S3 connections and the like
OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
WARN_EVERY_S = 60.0  # at most one log line a minute about the cap or a shortage of descriptors


def raise_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard one where allowed; returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(setting: int, file_limit: int) -> int:
    """`setting`, but no more than the descriptors left free under the file limit, less a reserve."""
    try:
        in_use = len(os.listdir("/dev/fd"))
    except OSError:
        in_use = FD_RESERVE
    return max(1, min(setting, file_limit - in_use - FD_RESERVE))


class ConnectionGuard:
    """The open connections (at most `cap`), and a rate-limited note of those closed to keep room."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open: set[GuardedH11Protocol] = set()
        self.closed_for_room = 0
        self._room = asyncio.Event()
        self._warned_at = -WARN_EVERY_S

    @property
    def full(self) -> bool:
        return len(self.open) >= self.cap

    def opened(self, connection: GuardedH11Protocol) -> None:
        self.open.add(connection)

    def closed(self, connection: GuardedH11Protocol) -> None:
        self.open.discard(connection)
        self._room.set()

    def idlest(self) -> GuardedH11Protocol | None:
        idle = (connection for connection in self.open if not connection.busy)
        return min(idle, key=lambda connection: connection.idle_since, default=None)

    def close_idlest(self) -> bool:
        """Close the connection idle longest, to make room; False if every connection is busy."""
        victim = self.idlest()
        if victim is None:
            return False
        victim.close_quietly()
        self.closed_for_room += 1
        self.warn("connection cap reached: closing the connections idle longest")
        return True

    async def wait_for_room(self, at_most_s: float) -> None:
        self._room.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), at_most_s)

    def warn(self, message: str, **fields: Any) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            fields = {"cap": self.cap, "open": len(self.open), "closed_for_room": self.closed_for_room, **fields}
            logs.SERVER.warning(message, extra={"fields": fields})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request's line and headers (counted from the
    connection's start or the last response), and membership of the connection cap."""

    def __init__(self, *args: Any, guard: ConnectionGuard, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard, self.header_timeout_s = guard, header_timeout_s
        self.idle_since = time.monotonic()
        self._deadline: asyncio.TimerHandle | None = None  # for the next request's line and headers

    @property
    def busy(self) -> bool:
        """A request is being read, run or answered."""
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.guard.opened(self)
        self._watch_idle()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_idle()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.idle_since = time.monotonic()
        self._watch_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._stop_deadline()
        self.guard.closed(self)

    def close_quietly(self) -> None:
        """Close an idle connection (as uvicorn does when keep-alive runs out)."""
        self._stop_deadline()
        self.guard.open.discard(self)  # its room is free now; connection_lost follows
        self.timeout_keep_alive_handler()

    def _watch_idle(self) -> None:
        # armed while no request is in progress; bytes that arrive meanwhile do not reset it
        idle = not self.busy and not self.transport.is_closing()
        if idle and self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout_s, self._deadline_passed)
        elif not idle:
            self._stop_deadline()

    def _deadline_passed(self) -> None:
        self._deadline = None
        if not self.busy:
            self.close_quietly()

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


class Acceptor:
    """Accepts connections on `listener` one at a time, within the guard's cap."""

    def __init__(
        self, listener: socket.socket, protocol: Callable[[], GuardedH11Protocol], guard: ConnectionGuard
    ) -> None:
        self.listener, self.protocol, self.guard = listener, protocol, guard
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.listener.setblocking(False)
        self._task = asyncio.get_running_loop().create_task(self._accept_forever())

    async def close(self) -> None:
        """Stop accepting; the kernel refuses new connections once the socket is closed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task  # its reader is off the socket before the descriptor is freed
        self.listener.close()

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.guard.full and self.guard.idlest() is None:
                self.guard.warn("connection cap reached and every connection is busy: not accepting")
                await self.guard.wait_for_room(1.0)
                continue
            try:
                client, _ = await loop.sock_accept(self.listener)
            except OSError as error:
                await self._accept_failed(error)
                continue
            if self.guard.full and not self.guard.close_idlest():
                client.close()  # every connection turned busy meanwhile
                continue
            try:
                await loop.connect_accepted_socket(self.protocol, client)
            except Exception as error:  # the client went away already, or worse: this loop must not end
                client.close()
                self.guard.warn("a connection could not be set up", error=type(error).__name__)

    async def _accept_failed(self, error: OSError) -> None:
        if error.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
            return  # that one client gave up (or was filtered) before it was accepted
        name = errno.errorcode.get(error.errno or 0, str(error.errno))
        if error.errno in OUT_OF_RESOURCES:
            # the cap keeps a reserve, so something else holds them: an idle connection makes room
            self.guard.warn("out of file descriptors: closing idle connections", error=name)
            self.guard.close_idlest()
        else:
            self.guard.warn("accept failed", error=name)
        await asyncio.sleep(0.05)  # lets a closed connection free its descriptor; never a busy loop
