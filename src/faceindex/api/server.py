"""uvicorn, configured and extended for a service on an open port.

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


def run(app: ASGIApp, settings: Settings, drain: Drain, on_grace_over: Callable[[], None]) -> None:
    """Serve `app` until a signal; `on_grace_over` stops work that has not started yet."""
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

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        listener = self.config.bind_socket()  # before the models load: a taken port fails at once
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
        listener.listen(self.config.backlog)
        self.acceptor = Acceptor(listener, protocol, guard)
        self.acceptor.start()
        fields = {"host": self.settings.host, "port": listener.getsockname()[1], "max_connections": guard.cap}
        logs.SERVER.info("listening", extra={"fields": fields})
        self.started = True

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
