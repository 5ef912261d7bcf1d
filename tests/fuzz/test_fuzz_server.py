"""Hostile images and malformed requests against a live `faceindex serve`: never HTTP 500, always a
well-formed error with a Rekognition code (or a 2xx of the modelled shape), no fault in the server's
log, /healthz still answers, and the server's resident set stays bounded.

Images go through boto3 (DetectFaces, IndexFaces, CompareFaces, SearchFacesByImage); malformed
Rekognition bodies are signed by hand as botocore signs them (so they reach the parser); REST
requests carry HTTP Basic credentials. Every failure names the case that reproduces it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from faceindex.api.rekognition.model import service_model
from tests.api.live import LiveServer
from tests.api.shapes import shape_errors
from tests.api.test_protocol_negative import signed
from tests.fuzz.budget import GIB, SEED, cases, resident_bytes
from tests.fuzz.images import Source, case_rng, image_case, source_photos
from tests.fuzz.malformed import COLLECTION, USER, rekognition_request
from tests.fuzz.malformed_rest import REST_COLLECTION, rest_request

# Rekognition's modelled errors, and the protocol-level ones every AWS JSON service answers
KNOWN_CODES = frozenset(shape.name for shape in service_model().error_shapes) - {"InternalServerError"} | {
    "SerializationException", "UnknownOperationException", "UnsupportedOperationException",
    "MissingAuthenticationTokenException", "InvalidSignatureException", "IncompleteSignatureException",
    "UnrecognizedClientException", "RequestTimeoutException",
}  # fmt: skip
PEAK_GROWTH_LIMIT = int(1.5 * GIB)  # over the server's resident set before the test; 40 MP needs ~450 MB
FAULT_MARKERS = ("unexpected error", "Traceback")


@dataclass
class Watch:
    """Faults seen, and the server's resident set sampled after every request."""

    server: LiveServer
    baseline: int = 0
    peak: int = 0
    log_lines: int = 0
    faults: list[str] = field(default_factory=list)

    def sample(self) -> None:
        assert self.server.process is not None
        self.peak = max(self.peak, resident_bytes(self.server.process.pid))

    def check_after(self) -> None:
        """The server is alive, bounded, and logged no fault while the cases ran."""
        faults = "\n".join(self.faults[:40])
        assert self.faults == [], f"{len(self.faults)} faults:\n{faults}"
        assert httpx.get(f"{self.server.url}/healthz", timeout=30).status_code == 200
        growth = self.peak - self.baseline
        assert growth < PEAK_GROWTH_LIMIT, f"the server's resident set grew by {growth / GIB:.2f} GiB"
        logged = self.server.log().splitlines()[self.log_lines :]
        assert [line for line in logged if any(marker in line for marker in FAULT_MARKERS)] == []


@pytest.fixture
def watch(server: LiveServer) -> Iterator[Watch]:
    assert server.process is not None
    baseline = resident_bytes(server.process.pid)
    yield Watch(server, baseline, baseline, len(server.log().splitlines()))


@pytest.fixture(scope="module")
def sources(testdata: Path) -> list[Source]:
    return source_photos(testdata)


@pytest.fixture
def collections(rekognition: Any, sources: list[Source]) -> Iterator[None]:
    """The collections the cases name, one face in each (so searches have something to search)."""
    for name in (COLLECTION, REST_COLLECTION, "fuzz-images"):
        rekognition.create_collection(CollectionId=name)
        rekognition.index_faces(CollectionId=name, Image={"Bytes": sources[0][1]}, MaxFaces=1)
    rekognition.create_user(CollectionId=COLLECTION, UserId=USER)
    yield
    for name in rekognition.list_collections(MaxResults=4096)["CollectionIds"]:
        if name.startswith("fuzz-"):
            rekognition.delete_collection(CollectionId=name)


def _boto3_call(client: Any, operation: str, image: bytes, photo: bytes) -> None:
    if operation == "DetectFaces":
        client.detect_faces(Image={"Bytes": image}, Attributes=["ALL"])
    elif operation == "IndexFaces":
        client.index_faces(CollectionId="fuzz-images", Image={"Bytes": image}, MaxFaces=1)
    elif operation == "CompareFaces source":
        client.compare_faces(SourceImage={"Bytes": image}, TargetImage={"Bytes": photo})
    elif operation == "CompareFaces target":
        client.compare_faces(SourceImage={"Bytes": photo}, TargetImage={"Bytes": image})
    else:
        client.search_faces_by_image(CollectionId="fuzz-images", Image={"Bytes": image})


BOTO3_OPERATIONS = ("DetectFaces", "IndexFaces", "CompareFaces source", "CompareFaces target", "SearchFacesByImage")


@pytest.mark.usefixtures("collections")
def test_hostile_images_through_boto3(rekognition: Any, watch: Watch, sources: list[Source]) -> None:
    for index in range(cases(100)):
        case = image_case(SEED, index, sources, stream="server-image")
        operation = case_rng(SEED, index, "server-operation").choice(BOTO3_OPERATIONS)
        try:
            _boto3_call(rekognition, operation, case.data, sources[0][1])
        except ClientError as error:
            status, code = error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
            if status >= 500 or code not in KNOWN_CODES:
                watch.faults.append(f"{operation} {case.name}: HTTP {status} {code}")
        except BotoCoreError as error:  # no answer within the read timeout, a dropped connection, …
            watch.faults.append(f"{operation} {case.name}: {type(error).__name__}: {error}")
        watch.sample()
    watch.check_after()


def _rekognition_fault(response: httpx.Response, operation: str) -> str | None:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if not response.headers.get("x-amzn-requestid"):
        return "no x-amzn-RequestId"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} with a body that is not JSON: {response.text[:200]!r}"
    if response.status_code >= 400:
        if not isinstance(body, dict) or body.get("__type") not in KNOWN_CODES or not body.get("Message"):
            return f"HTTP {response.status_code} without a Rekognition error: {response.text[:300]}"
        return None
    model = service_model()
    if operation not in model.operation_names:
        return f"HTTP {response.status_code} for an unknown operation: {response.text[:200]}"
    errors = shape_errors(body, model.operation_model(operation).output_shape)
    return f"HTTP {response.status_code} not of the output shape: {errors[:3]}" if errors else None


@pytest.mark.usefixtures("collections")
def test_malformed_rekognition_requests(server: LiveServer, admin_key: tuple[str, str], watch: Watch) -> None:
    with httpx.Client(timeout=60) as client:
        for index in range(cases(220)):
            case = rekognition_request(SEED, index)
            request = signed(server, admin_key, case.operation, case.body, headers=case.headers)
            try:
                fault = _rekognition_fault(client.send(request), case.operation)
            except httpx.HTTPError as error:
                fault = f"{type(error).__name__}: {error}"
            if fault:
                watch.faults.append(f"{case.name}: {fault}")
            watch.sample()
    watch.check_after()


def _rest_fault(response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} with a body that is not JSON: {response.text[:200]!r}"
    if response.status_code >= 400:
        problem = isinstance(body, dict) and body.get("status") == response.status_code
        if not problem or body.get("code") not in KNOWN_CODES | {"Unauthorized"}:
            return f"HTTP {response.status_code} without a problem answer: {response.text[:300]}"
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            return f"HTTP {response.status_code} as {response.headers.get('content-type')}"
    return None


@pytest.mark.usefixtures("collections")
def test_malformed_rest_requests(
    server: LiveServer, admin_key: tuple[str, str], watch: Watch, sources: list[Source]
) -> None:
    auth = "Basic " + base64.b64encode(f"{admin_key[0]}:{admin_key[1]}".encode()).decode()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for index in range(cases(140)):
            case = rest_request(SEED, index, sources)
            headers = {"Authorization": auth, **case.headers}
            try:
                response = client.request(case.method, case.path, content=case.body, headers=headers)
                fault = _rest_fault(response)
            except httpx.HTTPError as error:
                fault = f"{type(error).__name__}: {error}"
            if fault:
                watch.faults.append(f"{case.name}: {fault}")
            watch.sample()
    watch.check_after()
