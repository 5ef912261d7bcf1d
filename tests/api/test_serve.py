"""What a new user meets when the server starts and stops: a taken port, `make run` and Ctrl-C,
the landing page at `/`, the API docs without the internet, CORS, and requests refused early."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from faceindex.api.rekognition.model import operation
from tests.api.live import LiveServer, free_port, start_server

ROOT = Path(__file__).resolve().parents[2]


def test_a_taken_port_stops_serve_before_it_says_ready(tmp_path: Path, cache: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "FACEINDEX_DATA_DIR": str(tmp_path / "data")}
        done = subprocess.run(
            [sys.executable, "-m", "faceindex.cli.main", "serve", "--port", str(port)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "already in use" in done.stderr
    assert "--port" in done.stderr  # says what to do about it
    assert not re.search(r"\bready\b", done.stderr) and "Rekognition's API at" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_make_run_stops_on_ctrl_c_without_a_make_error(tmp_path: Path, cache: Path) -> None:
    """Ctrl-C reaches every process of the terminal's group: make, its shell and the server."""
    port = free_port()
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "FACEINDEX_DATA_DIR": str(tmp_path / "data"),
        "FACEINDEX_PORT": str(port),
    }
    # -o models: the run target alone (its prerequisites set up the venv and the model pack)
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-o", "models", "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        ready = False
        deadline = time.monotonic() + 180
        while not ready and make.poll() is None and time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready, make.communicate(timeout=60)[0].decode()
        os.killpg(make.pid, signal.SIGINT)
        output = make.communicate(timeout=60)[0].decode()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    assert '"message": "stopped"' in output
    assert "make: ***" not in output, output[-2000:]


def test_the_root_url_is_a_landing_page(server: LiveServer) -> None:
    page = httpx.get(server.url + "/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = _assets(page.text)
    assert {"/docs", "/openapi.json", "/healthz", "/readyz", "/metrics"} <= links
    assert "endpoint_url" in page.text  # how to point boto3 at it
    # the Rekognition endpoint itself is unchanged
    unsigned = httpx.post(server.url + "/", headers={"x-amz-target": "RekognitionService.ListCollections"})
    assert unsigned.status_code == 400 and unsigned.json()["__type"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_need_no_internet(server: LiveServer, page: str) -> None:
    html = httpx.get(server.url + page, timeout=30)
    assert html.status_code == 200
    assets = _assets(html.text) | set(re.findall(r"""url: ?['"]([^'"]+)['"]""", html.text))
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    assert "http://" not in html.text and "https://" not in html.text  # nothing from a CDN, nothing remote
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}
    for url in assets:
        answer = httpx.get(server.url + url, timeout=30)
        assert answer.status_code == 200, url
        expected = next(kind for suffix, kind in kinds.items() if url.endswith(suffix))
        assert expected in answer.headers["content-type"], (url, answer.headers["content-type"])


def test_the_openapi_document_says_how_to_authenticate_and_what_comes_back(server: LiveServer) -> None:
    spec = httpx.get(server.url + "/openapi.json", timeout=30).json()
    validate(spec)  # a valid OpenAPI document
    assert spec["components"]["securitySchemes"]["basic"] == {
        "type": "http",
        "scheme": "basic",
        "description": spec["components"]["securitySchemes"]["basic"]["description"],
    }
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            assert "422" not in op["responses"], where  # every bad request is a 400 problem
            if not path.startswith("/v1/"):
                continue
            assert op["security"] == [{"basic": []}], where
            assert {"400", "401"} <= set(op["responses"]), where
            problem = op["responses"]["401"]["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}, where
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]
            name = ok["$ref"].rsplit("/", 1)[1]
            rekognition = operation(op["operationId"])
            if rekognition is None:  # faceindex's own (EraseFaces): its schema is named after it
                assert name == f"{op['operationId']}Response" and schemas[name]["properties"], where
                continue
            assert set(schemas[name]["properties"]) == set(rekognition.output_shape.members), where
    detect = schemas["DetectFacesResponse"]["properties"]["FaceDetails"]
    assert detect["items"] == {"$ref": "#/components/schemas/FaceDetail"}
    assert schemas["BoundingBox"]["properties"]["Width"]["type"] == "number"


def test_cors_is_off_unless_origins_are_set(server: LiveServer, tmp_path: Path, cache: Path) -> None:
    preflight = {"origin": "http://app.example", "access-control-request-method": "POST"}
    closed = httpx.options(server.url + "/v1/detect", headers=preflight, timeout=30)
    assert "access-control-allow-origin" not in closed.headers
    live = start_server(tmp_path / "data", cache, {"FACEINDEX_CORS_ORIGINS": "http://app.example"})
    try:
        allowed = httpx.options(
            live.url + "/v1/detect", headers={**preflight, "access-control-request-headers": "authorization"}
        )
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == "http://app.example"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = httpx.options(live.url + "/v1/detect", headers={**preflight, "origin": "http://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "http://evil.example"
        # a real answer (here a 401) carries the header too, so the page can read the error
        refused = httpx.get(live.url + "/v1/collections", headers={"origin": "http://app.example"})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "http://app.example"
        assert "x-amzn-requestid" in refused.headers["access-control-expose-headers"].lower()
    finally:
        live.stop()


def test_a_cors_origin_with_a_path_is_refused_at_start(tmp_path: Path, cache: Path) -> None:
    """Browsers send `https://app.example`, never with a slash: that origin would silently never match."""
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "FACEINDEX_DATA_DIR": str(tmp_path / "data"),
        "FACEINDEX_CORS_ORIGINS": "https://app.example/",
    }
    done = subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", "serve", "--port", str(free_port())],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "FACEINDEX_CORS_ORIGINS" in done.stderr and "'https://app.example/'" in done.stderr


def test_requests_refused_before_any_route_are_counted(server: LiveServer, admin_key: tuple[str, str]) -> None:
    refusals = [
        (("rest", "-", "Unauthorized"), lambda c: c.get("/v1/collections")),
        (("rest", "-", "ResourceNotFoundException"), lambda c: c.get("/v1/nothing-here", auth=admin_key)),
        (
            ("rest", "-", "ImageTooLargeException"),
            lambda c: _send_raw(server, _declared_too_large(admin_key)),  # refused on its Content-Length
        ),
        (("ops", "-", "ResourceNotFoundException"), lambda c: c.get("/no-such-page")),
        (("rekognition", "-", "SerializationException"), lambda c: _send_raw(server, _TWO_FRAMINGS)),
    ]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        before = _request_counts(client)
        for _, send in refusals:
            send(client)
        after = _request_counts(client)
    for labels, _ in refusals:
        assert after.get(labels, 0) == before.get(labels, 0) + 1, (labels, after)


_TWO_FRAMINGS = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"


def _declared_too_large(key: tuple[str, str]) -> bytes:
    basic = base64.b64encode(f"{key[0]}:{key[1]}".encode()).decode()
    return (
        f"POST /v1/detect HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {9 << 20}\r\n\r\n"
    ).encode()


def _send_raw(server: LiveServer, request: bytes) -> str:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        return sock.recv(65536).decode("latin-1")


def _request_counts(client: httpx.Client) -> dict[tuple[str, str, str], float]:
    counts = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "faceindex_requests_total":
                key = (sample.labels["api"], sample.labels["operation"], sample.labels["outcome"])
                counts[key] = sample.value
    return counts


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls |= {value for name, value in attrs if name in ("href", "src") and value}


def _assets(html: str) -> set[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls
