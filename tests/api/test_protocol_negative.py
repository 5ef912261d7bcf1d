"""What a hostile or broken client gets: the error AWS would send, never HTTP 500.

Requests are built by hand (httpx) and signed with botocore's own SigV4 signer, so each case
changes exactly one thing from a request AWS would accept."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from typing import Any

import botocore.auth
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.api.live import REGION, LiveServer


def signed(
    server: LiveServer,
    key: tuple[str, str],
    operation: str,
    body: bytes | str,
    service: str = "rekognition",
    headers: dict[str, str] | None = None,
    region: str = REGION,
    unsigned: tuple[str, ...] = (),
) -> httpx.Request:
    """A request signed as botocore signs it; the `unsigned` headers are added after signing."""
    data = body.encode() if isinstance(body, str) else body
    all_headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"RekognitionService.{operation}",
        **(headers or {}),
    }
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=data,
        headers={name: value for name, value in all_headers.items() if name not in unsigned},
    )
    SigV4Auth(Credentials(*key), service, region).add_auth(request)
    sent = {**dict(request.headers.items()), **{name: all_headers[name] for name in unsigned}}
    return httpx.Request("POST", server.url + "/", content=data, headers=sent)


def send(request: httpx.Request) -> tuple[int, dict[str, Any], httpx.Headers]:
    with httpx.Client(timeout=120) as client:
        response = client.send(request)
    assert response.status_code != 500, response.text
    assert response.headers.get("x-amzn-requestid")
    return response.status_code, response.json(), response.headers


@pytest.fixture
def at_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def shift(minutes: float) -> None:
        when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)

    yield shift


LIST = json.dumps({"MaxResults": 5})


def test_a_correctly_signed_request_is_accepted(server: LiveServer, admin_key: tuple[str, str]) -> None:
    status, body, _ = send(signed(server, admin_key, "ListCollections", LIST))
    assert status == 200 and "CollectionIds" in body


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "MissingAuthenticationTokenException"),
        ("unknown key", "UnrecognizedClientException"),
        ("wrong secret", "InvalidSignatureException"),
        ("tampered body", "InvalidSignatureException"),
        ("tampered target", "InvalidSignatureException"),
        ("wrong service", "InvalidSignatureException"),
        ("not sigv4", "IncompleteSignatureException"),
        ("no signature", "IncompleteSignatureException"),
        ("session token", "UnrecognizedClientException"),
        ("target not signed", "InvalidSignatureException"),
        ("content type not signed", "InvalidSignatureException"),
        ("other region", "InvalidSignatureException"),
    ],
)
def test_signature_failures(server: LiveServer, admin_key: tuple[str, str], case: str, expected: str) -> None:
    request = signed(server, admin_key, "ListCollections", LIST)
    if case == "missing":
        del request.headers["Authorization"]
    elif case == "unknown key":
        request = signed(server, ("FIAKAAAAAAAAAAAAAAAA", admin_key[1]), "ListCollections", LIST)
    elif case == "wrong secret":
        request = signed(server, (admin_key[0], "x" * 40), "ListCollections", LIST)
    elif case == "tampered body":
        request = httpx.Request("POST", request.url, content=json.dumps({"MaxResults": 6}), headers=request.headers)
    elif case == "tampered target":
        request.headers["X-Amz-Target"] = "RekognitionService.ListFaces"
    elif case == "wrong service":
        request = signed(server, admin_key, "ListCollections", LIST, service="s3")
    elif case == "not sigv4":
        request.headers["Authorization"] = "AWS " + admin_key[0] + ":abc"
    elif case == "no signature":
        request.headers["Authorization"] = request.headers["Authorization"].split(", Signature=")[0]
    elif case == "session token":
        request = signed(server, admin_key, "ListCollections", LIST, headers={"X-Amz-Security-Token": "abc"})
    elif case == "target not signed":
        request = signed(server, admin_key, "ListCollections", LIST, unsigned=("X-Amz-Target",))
    elif case == "content type not signed":
        request = signed(server, admin_key, "ListCollections", LIST, unsigned=("Content-Type",))
    elif case == "other region":
        request = signed(server, admin_key, "ListCollections", LIST, region="eu-west-1")
    status, body, headers = send(request)
    assert status in (400, 403)
    assert body["__type"] == expected and body["Message"]
    assert headers["content-type"] == "application/x-amz-json-1.1"


def test_a_signature_without_the_target_cannot_be_replayed_as_another_operation(
    server: LiveServer, admin_key: tuple[str, str], rekognition: Any
) -> None:
    """The probe signed ListFaces without X-Amz-Target, re-sent it as DeleteCollection, and it ran."""
    rekognition.create_collection(CollectionId="kept-by-the-signature")
    body = json.dumps({"CollectionId": "kept-by-the-signature"})
    request = signed(server, admin_key, "ListFaces", body, unsigned=("X-Amz-Target",))
    request.headers["X-Amz-Target"] = "RekognitionService.DeleteCollection"
    status, answer, _ = send(request)
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    assert "'X-Amz-Target' must be a 'SignedHeader'" in answer["Message"]
    assert "kept-by-the-signature" in rekognition.list_collections()["CollectionIds"]
    rekognition.delete_collection(CollectionId="kept-by-the-signature")


@pytest.mark.parametrize(("minutes", "fragment"), [(-16, "Signature expired"), (16, "not yet current")])
def test_clock_skew_beyond_15_minutes(
    server: LiveServer, admin_key: tuple[str, str], at_time: Any, minutes: int, fragment: str
) -> None:
    at_time(minutes)
    status, body, _ = send(signed(server, admin_key, "ListCollections", LIST))
    assert (status, body["__type"]) == (400, "InvalidSignatureException") and fragment in body["Message"]


def test_clock_skew_within_15_minutes(server: LiveServer, admin_key: tuple[str, str], at_time: Any) -> None:
    at_time(-14)
    assert send(signed(server, admin_key, "ListCollections", LIST))[0] == 200


def test_keys_carry_their_operations_and_can_be_revoked(server: LiveServer) -> None:
    detect_only = server.new_key("DetectFaces")
    status, body, _ = send(signed(server, detect_only, "ListCollections", LIST))
    assert (status, body["__type"]) == (400, "AccessDeniedException")
    assert "rekognition:ListCollections" in body["Message"]
    assert send(signed(server, detect_only, "DetectFaces", json.dumps({"Image": {"Bytes": ""}})))[1]["__type"] != (
        "AccessDeniedException"
    )

    key = server.new_key()
    assert send(signed(server, key, "ListCollections", LIST))[0] == 200
    assert server.cli("keys", "revoke", key[0]).returncode == 0
    assert send(signed(server, key, "ListCollections", LIST))[1]["__type"] == "UnrecognizedClientException"
    listed = server.cli("keys", "list")
    assert key[0] in listed.stdout and "revoked" in listed.stdout and key[1] not in listed.stdout


def test_secrets_are_not_stored_in_clear(server: LiveServer) -> None:
    key = server.new_key()
    database = (server.data_dir / "faceindex.db").read_bytes()
    wal = server.data_dir / "faceindex.db-wal"
    stored = database + (wal.read_bytes() if wal.exists() else b"")
    assert key[0].encode() in stored and key[1].encode() not in stored


@pytest.mark.parametrize(
    ("operation", "body", "expected"),
    [
        ("ListCollections", "{not json", "SerializationException"),
        ("ListCollections", "[1, 2]", "SerializationException"),
        ("ListCollections", b"\xff\xfe\x00", "SerializationException"),
        ("DetectFaces", json.dumps({"Image": {"Bytes": "!!!not base64!!!"}}), "SerializationException"),
        (
            "DetectFaces",
            json.dumps({"Image": {"Bytes": base64.b64encode(b"GIF89a junk").decode()}}),
            "InvalidImageFormatException",
        ),
        ("DetectFaces", json.dumps({"Image": {"Bytes": ""}}), "InvalidParameterException"),
        ("DetectFaces", json.dumps({}), "InvalidParameterException"),
        ("DetectFaces", json.dumps({"Image": {}}), "InvalidParameterException"),
        ("DetectFaces", json.dumps({"Image": "abc"}), "InvalidParameterException"),
        (
            "SearchFaces",
            json.dumps({"CollectionId": "c", "FaceId": "x", "MaxFaces": "ten"}),
            "InvalidParameterException",
        ),
        ("ListCollections", json.dumps({"MaxResults": 5, "Surprise": 1}), "InvalidParameterException"),
        ("DescribeCollection", json.dumps({"CollectionId": 7}), "InvalidParameterException"),
        ("DescribeCollection", json.dumps({"CollectionId": "x" * 300}), "InvalidParameterException"),
        ("DetectLabels", json.dumps({"Image": {"Bytes": ""}}), "UnsupportedOperationException"),
        ("NoSuchThing", "{}", "UnknownOperationException"),
    ],
)
def test_malformed_requests(
    server: LiveServer, admin_key: tuple[str, str], operation: str, body: str | bytes, expected: str
) -> None:
    status, answer, _ = send(signed(server, admin_key, operation, body))
    assert status == 400 and answer["__type"] == expected, answer
    assert len(answer["Message"]) < 400


def test_missing_target(server: LiveServer, admin_key: tuple[str, str]) -> None:
    request = signed(server, admin_key, "ListCollections", LIST)
    del request.headers["X-Amz-Target"]
    assert send(request)[1]["__type"] in ("UnknownOperationException", "InvalidSignatureException")


def test_oversized_bodies_are_refused_declared_or_streamed(server: LiveServer, admin_key: tuple[str, str]) -> None:
    huge = json.dumps({"Image": {"Bytes": base64.b64encode(b"\0" * (7 * 1024 * 1024)).decode()}})
    status, body, _ = send(signed(server, admin_key, "DetectFaces", huge))
    assert (status, body["__type"]) == (400, "ImageTooLargeException")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for _ in range(20):
            yield b"x" * (1024 * 1024)

    with httpx.Client(timeout=60) as client:
        response = client.post(
            server.url + "/", content=chunks(), headers={"X-Amz-Target": "RekognitionService.DetectFaces"}
        )
    assert response.status_code == 400 and response.json()["__type"] == "ImageTooLargeException"
    assert send(signed(server, admin_key, "ListCollections", LIST))[0] == 200  # still serving
