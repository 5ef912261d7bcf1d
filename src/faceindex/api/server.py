"""uvicorn, configured and extended for a service on an open port.

- The port is bound first, before the banner, the models and "ready": a port that is taken stops
  `serve` at once with `CannotListen` (the CLI's exit status 3).
- HTTP/1.1 by h11, chosen explicitly: pure Python and strict, the same parser on every install
  (httptools is not a dependency, and `auto` would pick it up if something else installed it).
- Connections are accepted by `connections.Acceptor` within a cap below the file limit; each
  request's headers must arrive within `header_timeout_s` (its body within `body_timeout_s`, which
  app.BodyLimit enforces); idle keep-alive connections close after uvicorn's 5 seconds.
- SIGTERM/SIGINT: stop accepting, close idle connections, let requests finish for
  `shutdown_grace_s`, then answer those left with ThrottlingException (`shutdown.Drain`), wait for
  the work already running in threads, and only then save the indexes and close the store. A clean
  shutdown exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import socket
import sys
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE

from faceindex.api import logs
from faceindex.api.connections import Acceptor, ConnectionGuard, GuardedH11Protocol, connection_cap, raise_file_limit
from faceindex.api.shutdown import Drain
from faceindex.config import Settings


class CannotListen(Exception):
    """The address cannot be listened on (taken, not this machine's, a privileged port)."""


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (not listening yet: connections are refused until the models load)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise CannotListen(_why(host, port, error)) from None
    return sock


def _why(host: str, port: int, error: OSError) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        advice = "the port is already in use by another program; choose another with --port or FACEINDEX_PORT"
    elif error.errno == errno.EACCES:
        advice = "permission denied (ports below 1024 need privileges); choose another with --port"
    elif isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        advice = "this machine has no such address; choose another with --host or FACEINDEX_HOST"
    else:
        advice = error.strerror or str(error)
    return f"cannot listen on {where}: {advice}"


def run(
    app: ASGIApp,
    settings: Settings,
    listener: socket.socket,
    drain: Drain,
    on_grace_over: Callable[[], None],
    on_listening: Callable[[], None],
) -> None:
    """Serve `app` on `listener` (from `bind`) until a signal. `on_listening` runs once requests are
    accepted; `on_grace_over` stops work that has not started yet."""
    file_limit = raise_file_limit()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http="h11",
        log_config=None,
        access_log=False,  # our own access log has the request id, operation and outcome
        server_header=False,
    )
    config.load()
    server = Server(config, settings, file_limit, drain, on_grace_over)
    server.listener, server.on_listening = listener, on_listening
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        settings: Settings,
        file_limit: int,
        drain: Drain,
        on_grace_over: Callable[[], None],
    ) -> None:
        super().__init__(config)
        self.settings, self.file_limit, self.drain, self.on_grace_over = settings, file_limit, drain, on_grace_over
        self.acceptor: Acceptor | None = None
        self.listener: socket.socket | None = None
        self.on_listening: Callable[[], None] = lambda: None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        listener = self.listener or bind(self.settings.host, self.settings.port)
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            listener.close()
            sys.exit(STARTUP_FAILURE)
        guard = ConnectionGuard(connection_cap(self.settings.max_connections, self.file_limit))
        protocol = functools.partial(
            GuardedH11Protocol,
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
            guard=guard,
            header_timeout_s=self.settings.header_timeout_s,
        )
        try:
            listener.listen(self.config.backlog)  # another socket bound with SO_REUSEADDR listened first
        except OSError as error:
            listener.close()
            await self.lifespan.shutdown()
            raise CannotListen(_why(self.settings.host, self.settings.port, error)) from None
        self.acceptor = Acceptor(listener, protocol, guard)
        self.acceptor.start()
        fields = {"host": self.settings.host, "port": listener.getsockname()[1], "max_connections": guard.cap}
        logs.SERVER.info("listening", extra={"fields": fields})
        self.started = True
        if not self.should_exit:  # a Ctrl-C while the models loaded: stop without a banner
            self.on_listening()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.drain.stopping = True
        if self.acceptor is not None:
            await self.acceptor.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle ones close now, busy ones after their response
        if not await self._settle(self.settings.shutdown_grace_s):
            answered = await self.drain.refuse_pending()
            self.on_grace_over()
            if answered:
                fields = {"grace_s": self.settings.shutdown_grace_s, "answered": answered}
                logs.SERVER.warning("grace period over: the rest get ThrottlingException", extra={"fields": fields})
            await self._settle(None)  # the work already running in threads; nothing new starts
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _settle(self, within_s: float | None) -> bool:
        """Wait until no request is in progress (and, in the grace period, every connection closed)."""
        loop = asyncio.get_running_loop()
        deadline = None if within_s is None else loop.time() + within_s
        state = self.server_state

        def settled() -> bool:
            return not state.tasks and (deadline is None or not state.connections)

        while not settled() and not self.force_exit and (deadline is None or loop.time() < deadline):
            await asyncio.sleep(0.05)
        return settled()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.drain.stopping = True  # requests that arrive from now on are refused, not started
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn raises the signal again once it is done, so a clean shutdown would exit -15
        with super().capture_signals():
            yield
            self._captured_signals.clear()
