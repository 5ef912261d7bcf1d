"""Shutdown without cut connections: every request gets an answer in its caller's dialect.

Once the server is stopping, a request that reaches the application is refused before it is read.
When the grace period ends, the server answers every request still without a response itself
(`Drain.refuse_pending`) with ThrottlingException (503 problem+json on REST), which every AWS SDK
retries; the work's own answer, should it come later, is dropped. uvicorn would instead cancel
those tasks, which answers 500 or cuts the connection, and lets worker threads run on while the
store closes."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceindex.api.refusals import send_refusal

STOPPING = "The server is shutting down; retry the request."
STOPPED = "The server shut down before this request finished; retry the request."


class PendingRequest:
    """A request in progress, and whether its response has begun or the server answered for it."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope, self._send = scope, send
        self.started = self.refused = False

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the server answered for it already
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def refuse(self) -> bool:
        if self.started or self.refused:
            return False
        self.refused = True
        await send_refusal(self.scope, self._send, "ThrottlingException", STOPPED, status=400, rest_status=503)
        return True


class Drain:
    """What the server knows of the requests in progress when it stops."""

    def __init__(self) -> None:
        self.stopping = False
        self.pending: set[PendingRequest] = set()

    async def refuse_pending(self) -> int:
        """Answer every request that has no response yet; returns how many were answered."""
        answered = 0
        for request in list(self.pending):
            answered += await request.refuse()
        return answered


class ShutdownGate:
    """Middleware, inside the access log (so refusals are logged and carry the request id)."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app, self.drain = app, drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.drain.stopping:
            await send_refusal(scope, send, "ThrottlingException", STOPPING, status=400, rest_status=503)
            return
        request = PendingRequest(scope, send)
        self.drain.pending.add(request)
        try:
            await self.app(scope, receive, request.send)
        finally:
            self.drain.pending.discard(request)
            if request.refused:  # the log says what the caller got, not what the work did later
                scope.setdefault("state", {})["outcome"] = "ThrottlingException"
