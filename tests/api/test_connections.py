"""Connections of a live server under slow, idle, malformed and abundant clients, and its shutdown.

Raw sockets, since the point is what a client that does not follow the rules gets. Bounds on time
are liveness bounds only (seconds to tens of seconds), never measurements."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import resource
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from faceindex.api.app import create_app
from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from tests.api.live import LiveServer, start_server

LIVENESS_S = 20.0  # "soon": far above what each step takes, far below "never"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Iterator[LiveServer]:
    """A server whose header and body deadlines are one second."""
    env = {"FACEINDEX_HEADER_TIMEOUT_S": "1", "FACEINDEX_BODY_TIMEOUT_S": "1"}
    live = start_server(tmp_path_factory.mktemp("strict") / "data", cache, env)
    yield live
    assert live.stop() == 0


def connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=LIVENESS_S)


def closed_by_server(sock: socket.socket, drip: bytes = b"") -> bool:
    """Send `drip` a byte every 0.2 s (a request that never ends); True once the server closes."""
    deadline, sent = time.monotonic() + LIVENESS_S, 0
    try:
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable and sock.recv(65536) == b"":
                return True
            if sent < len(drip):
                sock.sendall(drip[sent : sent + 1])
                sent += 1
    except (BrokenPipeError, ConnectionResetError):
        return True
    return False


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (raises if it never does)."""
    chunks = []
    sock.settimeout(LIVENESS_S)
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body[: int(headers["content-length"])])


def basic(key: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{key[0]}:{key[1]}".encode()).decode()


NEVER_ENDING_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: " + b"a" * 400


def test_idle_and_slow_headers_are_cut_off(strict: LiveServer) -> None:
    with connect(strict) as silent:
        assert closed_by_server(silent)  # today: open for ever
    with connect(strict) as slowloris:
        assert closed_by_server(slowloris, NEVER_ENDING_HEADERS)  # bytes keep coming, the deadline holds
    with connect(strict) as keep_alive:  # after one good request, the next one's headers have a deadline too
        keep_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert keep_alive.recv(65536).startswith(b"HTTP/1.1 200")
        assert closed_by_server(keep_alive, NEVER_ENDING_HEADERS)
    assert httpx.get(f"{strict.url}/healthz").status_code == 200


def test_a_slow_body_is_answered_408_in_the_callers_dialect(strict: LiveServer) -> None:
    with connect(strict) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: RekognitionService.DetectFaces\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n" + b'{"Image": '
        )
        status, headers, body = parse(read_until_closed(sock))
    assert (status, body["__type"], headers["connection"]) == (408, "RequestTimeoutException", "close")
    assert headers["x-amzn-requestid"]
    key = strict.new_key()
    with connect(strict) as sock:
        sock.sendall(
            b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic(key).encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        status, headers, body = parse(read_until_closed(sock))
    assert (status, headers["content-type"], body["code"]) == (
        408,
        "application/problem+json",
        "RequestTimeoutException",
    )
    log = strict.log()
    assert '"outcome": "RequestTimeoutException"' in log and "Traceback" not in log


def test_content_length_with_transfer_encoding_is_refused_and_closed(strict: LiveServer) -> None:
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(strict) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: RekognitionService.ListCollections\r\n"
            b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
        )
        raw = read_until_closed(sock)  # today: the smuggled GET is answered too and the connection stays open
    status, headers, body = parse(raw)
    assert (status, body["__type"], headers["connection"]) == (400, "SerializationException", "close")
    assert raw.count(b"HTTP/1.1 ") == 1


def test_idle_sockets_past_the_file_limit_leave_health_answering(tmp_path: Path, cache: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1400:
        pytest.skip(f"this test opens 1,100 sockets; the hard file limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400), hard))

    def low_file_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    # a long header deadline: only the connection cap can make room
    live = start_server(tmp_path / "data", cache, {"FACEINDEX_HEADER_TIMEOUT_S": "300"}, low_file_limit)
    host, port = live.url.removeprefix("http://").split(":")
    idle: list[socket.socket] = []
    try:
        log_before = live.log_path.stat().st_size
        for _ in range(1100):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((host, int(port)))
            idle.append(sock)
        health = httpx.get(f"{live.url}/healthz", timeout=LIVENESS_S)  # today: no answer, 5 MB of log a second
        assert health.status_code == 200
        time.sleep(1)  # for a log that would grow
        assert live.log_path.stat().st_size - log_before < 16_384
        match = re.search(r'"max_connections": (\d+)', live.log())
        assert match and int(match.group(1)) < 1024
    finally:
        for sock in idle:
            sock.close()
        code = live.stop()
    assert code == 0


def test_requests_left_at_the_end_of_the_grace_period_get_throttling(
    tmp_path: Path, cache: Path, testdata: Path
) -> None:
    env = {"FACEINDEX_MAX_IN_FLIGHT": "1", "FACEINDEX_SHUTDOWN_GRACE_S": "0.2", "FACEINDEX_VECTOR_INDEX": "hnsw"}
    live = start_server(tmp_path / "data", cache, env)
    client = live.client(live.new_key())
    client.create_collection(CollectionId="kept")
    client.index_faces(CollectionId="kept", Image={"Bytes": (testdata / "faces/obama/1.jpg").read_bytes()})
    client.search_faces_by_image(CollectionId="kept", Image={"Bytes": (testdata / "faces/obama/2.jpg").read_bytes()})
    crowd = {"Bytes": (testdata / "crowd/1.jpg").read_bytes()}
    outcomes: list[str] = []

    def detect() -> None:
        try:
            client.detect_faces(Image=crowd, Attributes=["ALL"])
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
        except Exception as error:  # a cut connection, a timeout
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=detect) for _ in range(10)]
    for thread in threads:
        thread.start()
    waiting_body = connect(live)  # a request whose body is still on its way at the end
    waiting_body.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    deadline = time.monotonic() + LIVENESS_S
    while time.monotonic() < deadline and in_flight(live) < 6:
        time.sleep(0.02)  # one running, five or more queued: over a second of work left
    code = live.stop(signal.SIGTERM)
    for thread in threads:
        thread.join()
    status, headers, body = parse(read_until_closed(waiting_body))
    waiting_body.close()
    assert (status, body["__type"], headers["connection"]) == (400, "ThrottlingException", "close")
    assert set(outcomes) <= {"ok", "ThrottlingException"} and "ThrottlingException" in outcomes
    assert code == 0
    snapshots = list((live.data_dir / "indexes").glob("*.hnsw.json"))
    assert snapshots and json.loads(snapshots[0].read_text())["size"] == 1
    log = live.log()
    assert '"message": "stopped"' in log and "Traceback" not in log and "Exception in ASGI" not in log


def in_flight(server: LiveServer) -> int:
    match = re.search(r"^faceindex_requests_in_flight (\d+)", httpx.get(f"{server.url}/metrics").text, re.M)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize(("path", "status", "field"), [("/", 400, "__type"), ("/v1/collections", 503, "code")])
def test_a_request_arriving_while_stopping_is_refused(tmp_path: Path, path: str, status: int, field: str) -> None:
    app = create_app(Settings(data_dir=tmp_path, auth="none"))
    app.state.drain.stopping = True  # as from SIGTERM until the listening socket is closed

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.post(path, content=b"{}")

    response = asyncio.run(post())
    assert (response.status_code, response.json()[field], response.headers["connection"]) == (
        status,
        "ThrottlingException",
        "close",
    )


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_bad_connection_settings_are_refused(value: str) -> None:
    with pytest.raises(InvalidParameter, match="FACEINDEX_SHUTDOWN_GRACE_S"):
        Settings.from_env({"FACEINDEX_SHUTDOWN_GRACE_S": value})
