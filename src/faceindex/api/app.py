"""The ASGI application: `create_app(settings)` for uvicorn, tests and embedding.

Start-up opens the store, loads every model (then /readyz answers 200) and shutdown saves the
vector index snapshots. A middleware gives each request an id (`x-amzn-RequestId`), and writes
one access-log line and the metrics when it ends.
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.formparsers import MultiPartParser
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceindex import __version__
from faceindex.api import auth, estimates, landing, logs, openapi, rest
from faceindex.api.limits import ConcurrencyLimit
from faceindex.api.metrics import Metrics
from faceindex.api.refusals import send_refusal
from faceindex.api.rekognition import protocol
from faceindex.api.shutdown import Drain, ShutdownGate
from faceindex.api.state import ServerState
from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from faceindex.service import housekeeping, jobs
from faceindex.service.container import Services, open_services
from faceindex.service.keys import KeyStore


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, on_listening: Callable[[], None] = lambda: None) -> None:
    """Run the server until SIGINT/SIGTERM, then finish the requests in flight and save the indexes
    (api/server.py: connection cap, header and body deadlines, the grace period). The port is bound
    first (`server.CannotListen` if it cannot be); `on_listening` runs once requests are accepted."""
    from faceindex.api import server

    logs.configure()
    app = create_app(settings)  # refuses no-auth on a non-loopback address
    listener = server.bind(settings.host, settings.port)

    def stop_queued_work() -> None:  # their callers were answered at the end of the grace period
        state: ServerState | None = getattr(app.state, "server", None)
        if state is not None:
            state.limit.close()

    server.run(app, settings, listener, app.state.drain, stop_queued_work, on_listening)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    if settings.auth == "none" and not is_loopback(settings.host):
        raise InvalidParameter("FACEINDEX_AUTH=none is for development on a loopback address only")
    # uploads stay in memory (they are bounded by max_body_bytes): no face photo touches the disk
    MultiPartParser.spool_max_size = settings.max_body_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services if services is not None else await anyio.to_thread.run_sync(open_services, settings)
        state = ServerState(
            services=opened,
            keys=KeyStore(opened.store, settings.data_dir),
            metrics=Metrics(opened.store, settings.metrics_collections),
            limit=ConcurrencyLimit(settings.max_in_flight, settings.max_waiting),
        )
        app.state.server = state
        await anyio.to_thread.run_sync(opened.engine.warm_up)
        state.ready = True
        logs.SERVER.info("ready", extra={"fields": {"data_dir": str(settings.data_dir), "auth": settings.auth}})
        workers = jobs.WorkerPool(opened)  # stored-video jobs: its own threads, after the models are loaded
        await anyio.to_thread.run_sync(workers.start)
        try:
            async with anyio.create_task_group() as background:
                background.start_soon(keep_house, opened, settings.housekeeping_s)
                try:
                    yield
                finally:
                    background.cancel_scope.cancel()
        finally:
            await anyio.to_thread.run_sync(workers.stop)  # a job in progress goes back to the queue
            state.ready = False
            if services is None:
                await anyio.to_thread.run_sync(opened.close)
            else:
                opened.indexes.save()
            logs.SERVER.info("stopped")

    app = openapi.documented_app(
        title="faceindex",
        summary="Self-hosted face detection, comparison and search with Amazon Rekognition's semantics.",
        description=REST_DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
    )
    signed = settings.auth == "sigv4"
    app.openapi = lambda: openapi.document(  # type: ignore[method-assign]  # FastAPI's documented way
        app, rest.STATUS, signed=signed, metrics_signed=settings.metrics_auth == "key"
    )
    app.add_api_route("/", protocol.endpoint, methods=["POST"], include_in_schema=False)

    async def home(request: Request) -> Response:
        """A page of links for a browser; POST / is Rekognition's endpoint."""
        return landing.page(request, __version__, settings.region, signed)

    app.add_api_route("/", home, methods=["GET"], include_in_schema=False)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["operations"], operation_id="healthz")
    app.add_api_route(
        "/readyz", readyz, methods=["GET"], tags=["operations"], operation_id="readyz", responses=READYZ_RESPONSES
    )
    app.add_api_route(
        "/metrics", metrics, methods=["GET"], tags=["operations"], operation_id="metrics", responses=METRICS_RESPONSES
    )
    rest.install(app)
    app.state.drain = Drain()  # what serve() needs to answer every request when it stops
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(rest.Authentication)  # outside BodyLimit: anonymous bodies are never read
    if origins := cors_origins(settings.cors_origins):  # outside Authentication: preflights carry no key
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
            expose_headers=["x-amzn-RequestId", "Retry-After", estimates.HEADER],
            max_age=600,
        )
    app.add_middleware(ShutdownGate, drain=app.state.drain)
    app.add_middleware(RequestLog)
    return app


REST_DESCRIPTION = """\
The REST API under `/v1`: multipart image uploads, JSON bodies, and answers in Amazon Rekognition's
response shapes. Errors are `application/problem+json` whose `code` is Rekognition's error code.

Authenticate with an access key (`faceindex keys create`) by HTTP Basic: the key id as user name,
the secret as password (**Authorize** above). JSON bodies take snake_case members or Rekognition's
names (`collection_id` or `CollectionId`); form fields and query parameters are snake_case.

Rekognition's own JSON protocol (boto3, the AWS CLI) is `POST /`, signed with SigV4.
"""
READYZ_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"description": "starting, or less than `min_free_bytes` of room to write (`reason` says which)"}
}
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Prometheus' text format", "content": {CONTENT_TYPE_LATEST: {}}}
}


def cors_origins(setting: str) -> list[str]:
    """FACEINDEX_CORS_ORIGINS as a list; an origin is scheme://host[:port], as browsers send it."""
    origins = [part.strip() for part in setting.split(",") if part.strip()]
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise InvalidParameter(
                f"FACEINDEX_CORS_ORIGINS items are origins such as https://app.example:8443 "
                f"(a scheme and a host, no path), not {origin!r}"
            )
    return origins


async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def readyz(request: Request) -> Response:
    """The store is open, every model is loaded and there is room to write (`min_free_bytes`)."""
    state: ServerState | None = getattr(request.app.state, "server", None)
    if state is None or not state.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    store, settings = state.services.store, state.services.settings
    problem = await anyio.to_thread.run_sync(store.room_problem, settings.min_free_bytes)
    if problem is not None:
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    """Prometheus metrics; with `metrics_auth=key`, for any active access key (HTTP Basic)."""
    state: ServerState = request.app.state.server
    if state.services.settings.metrics_auth == "key":
        auth.basic(state, request)  # the REST API's Basic check: auth.Unauthorized is a 401
    data = await anyio.to_thread.run_sync(generate_latest, state.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)


DRAIN_FACTOR = 4  # a refused body is read on to 4x the limit ...
DRAIN_SECONDS = 5.0  # ... or for 5 s, then the connection is closed


async def keep_house(services: Services, every_s: float) -> None:
    """Every `every_s` (and once at start): erase faces past their collection's retention period (each
    erasure audited, as the server's own call) and sign an audit head. Failures are logged, never fatal."""
    while True:
        try:
            await anyio.to_thread.run_sync(housekeeping.housekeeping, services)
        except Exception as error:  # a full disk, a locked database: the next round retries
            logs.SERVER.warning("housekeeping failed", extra={"fields": {"reason": type(error).__name__}})
        await anyio.sleep(every_s)


class BodyLimit:
    """Read the body first, refusing it once it exceeds the limit (declared or streamed) or takes
    longer than `timeout_s` to arrive, and answer in the caller's dialect: AWS JSON on the Rekognition
    endpoint, problem+json elsewhere. Bodies are read whole anyway (JSON, in-memory multipart), so
    buffering here costs nothing."""

    def __init__(self, app: ASGIApp, limit: int, timeout_s: float = 60.0) -> None:
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"transfer-encoding" in headers and b"content-length" in headers:
            # two framings of one body (request smuggling): RFC 9112 6.1 lets a server refuse and close
            text = "A request may carry Content-Length or Transfer-Encoding, not both."
            await send_refusal(scope, send, "SerializationException", text, status=400)
            return
        declared = headers.get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > self.limit
        chunks: list[bytes] = []
        size, more = 0, not too_large
        with anyio.move_on_after(self.timeout_s) as deadline:
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                more = message.get("more_body", False)
                too_large = size > self.limit
                if too_large:
                    break
        if deadline.cancelled_caught:
            text = f"The request body did not arrive within {self.timeout_s:g} seconds."
            await send_refusal(scope, send, "RequestTimeoutException", text, status=408)
            return
        if too_large:
            await self._drain(receive, more=more or not chunks)
            text = f"The request body is larger than this server's limit of {self.limit} bytes."
            await send_refusal(scope, send, "ImageTooLargeException", text, status=400, rest_status=413)
            return
        body, delivered = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, *, more: bool) -> None:
        """Read and discard the rest of a refused body, within bounds, before answering: closing a socket
        with unread bytes makes the kernel send a reset, and the client loses the refusal with it (seen
        in CI as "peer closed connection"). A client that keeps sending past the bounds gets the reset."""
        if not more:
            return
        remaining = DRAIN_FACTOR * self.limit
        with anyio.move_on_after(DRAIN_SECONDS):
            while remaining > 0:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                remaining -= len(message.get("body", b""))


class RequestLog:
    """Request id header, one access-log line and the metrics for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        request_state: dict[str, Any] = scope.setdefault("state", {})
        request_state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-amzn-requestid", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = str(scope.get("path", "-"))
            api = str(request_state.get("api") or api_of(scope.get("method"), path))
            operation = request_state.get("operation")
            outcome = str(request_state.get("outcome", "ok" if status < 400 else str(status)))
            server: ServerState | None = getattr(scope.get("app") and scope["app"].state, "server", None)
            if server is not None:  # every request, refused early or not; labels from a bounded set
                label = str(operation or (ops_label(path) if api == "ops" else "-"))
                server.metrics.observe(api, label, outcome, elapsed)
            logs.request_done(
                request_id=request_id,
                method=scope.get("method"),
                api=api,
                operation=str(operation or (path if api == "ops" else "-")),
                outcome=outcome,
                status=status,
                access_key=request_state.get("access_key"),
                duration_ms=round(elapsed * 1000, 1),
            )


OPS_PATHS = frozenset(
    {"/", "/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)


def api_of(method: object, path: str) -> str:
    """Which API a request was for, when no layer said (a refusal before any route ran, a 404)."""
    if path == "/" and method == "POST":
        return "rekognition"
    return "rest" if path.startswith(rest.router.prefix + "/") else "ops"


def ops_label(path: str) -> str:
    """The metrics' operation label of an ops request: its path if it is one of ours, else "-" (any
    other path would let a scanner grow the metrics without bound)."""
    if path in OPS_PATHS:
        return path
    return openapi.ASSETS if path.startswith(openapi.ASSETS + "/") else "-"
