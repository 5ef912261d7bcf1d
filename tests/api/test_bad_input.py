"""Bad input gets the code Rekognition would return, never HTTP 500, and leaves nothing behind."""

from __future__ import annotations

import base64
import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.api.live import LiveServer
from tests.api.test_protocol_negative import send, signed


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.fixture(scope="module")
def two_collections(server: LiveServer, admin_key: tuple[str, str], testdata: Path) -> Any:
    client = server.client(admin_key)
    photos = [p for p in sorted((testdata / "faces").glob("*/*")) if p.is_file()][:3]
    for name in ("paged-a", "paged-b"):
        client.create_collection(CollectionId=name)
        for photo in photos:
            client.index_faces(CollectionId=name, Image={"Bytes": photo.read_bytes()})
    yield client
    for name in ("paged-a", "paged-b"):
        client.delete_collection(CollectionId=name)


def test_next_tokens_are_bound_to_their_request(two_collections: Any) -> None:
    client = two_collections
    first = client.list_faces(CollectionId="paged-a", MaxResults=1)
    assert first["NextToken"]
    second = client.list_faces(CollectionId="paged-a", MaxResults=1, NextToken=first["NextToken"])
    assert second["Faces"][0]["FaceId"] != first["Faces"][0]["FaceId"]
    forged = [_token({"after": 2**63}), _token({"after": -1}), _token([]), "not base64!", _token({"after": "x"})]
    for token in [first["NextToken"], *forged]:  # the first: a real token, for another collection
        with pytest.raises(client.exceptions.InvalidPaginationTokenException):
            client.list_faces(CollectionId="paged-b", MaxResults=1, NextToken=token)
    with pytest.raises(client.exceptions.InvalidPaginationTokenException):
        client.list_collections(NextToken=first["NextToken"])
    with pytest.raises(client.exceptions.InvalidPaginationTokenException):
        client.list_users(CollectionId="paged-a", NextToken=_token({"after": 2**63}))


def test_json_nested_1000_deep_is_a_serialization_error(server: LiveServer, admin_key: tuple[str, str]) -> None:
    deep = '{"CollectionId": "x", "Tags": ' + "[" * 1000 + "]" * 1000 + "}"
    status, body, _ = send(signed(server, admin_key, "CreateCollection", deep))
    assert (status, body["__type"]) == (400, "SerializationException")
    deeper = "[" * 100_000 + "]" * 100_000
    status, body, _ = send(signed(server, admin_key, "ListCollections", deeper))
    assert (status, body["__type"]) == (400, "SerializationException")


def test_an_invalid_tag_creates_no_collection(rekognition: Any) -> None:
    for tags in [{"aws:reserved": "x"}, {"k": "v" * 300}]:
        with pytest.raises(rekognition.exceptions.InvalidParameterException):
            rekognition.create_collection(CollectionId="tagged-badly", Tags=tags)
        assert "tagged-badly" not in rekognition.list_collections()["CollectionIds"]


def test_index_faces_checks_attributes_and_quality_filter_as_detect_faces_does(
    rekognition: Any, testdata: Path
) -> None:
    photo = next(p for p in sorted((testdata / "faces").glob("*/*")) if p.is_file()).read_bytes()
    rekognition.create_collection(CollectionId="strict-index")
    try:
        with pytest.raises(rekognition.exceptions.InvalidParameterException):
            rekognition.detect_faces(Image={"Bytes": photo}, Attributes=["BOGUS"])
        with pytest.raises(rekognition.exceptions.InvalidParameterException):
            rekognition.index_faces(CollectionId="strict-index", Image={"Bytes": photo}, DetectionAttributes=["BOGUS"])
        with pytest.raises(rekognition.exceptions.InvalidParameterException):
            rekognition.index_faces(CollectionId="strict-index", Image={"Bytes": photo}, QualityFilter="")
        assert rekognition.list_faces(CollectionId="strict-index")["Faces"] == []
    finally:
        rekognition.delete_collection(CollectionId="strict-index")


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    """One request on an open keep-alive connection; the status and the body (Content-Length framed)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), body[:length]


def test_rest_errors_keep_the_connection_usable_and_the_log_one_json_line_each(server: LiveServer) -> None:
    key_id, secret = server.new_key()
    auth = base64.b64encode(f"{key_id}:{secret}".encode())
    host, port = server.url.removeprefix("http://").split(":")

    def request(method: str, path: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth.decode()}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    exif = _jpeg_with_corrupt_exif()
    boundary = "b0undary"
    upload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n'.encode()
        + exif
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        answers = [
            _exchange(sock, request("GET", "/v1/collections/no-such-collection")),
            _exchange(sock, request("POST", "/v1/collections", b'{"collection_id": "bad id!"}')),
            _exchange(sock, request("POST", "/v1/collections", b"[" * 100_000 + b"]" * 100_000)),
            _exchange(sock, request("POST", "/v1/collections", b"{not json")),
            _exchange(sock, request("GET", "/v1/collections?max_results=abc")),
            _exchange(sock, request("POST", "/v1/detect", upload, f"multipart/form-data; boundary={boundary}")),
            _exchange(sock, request("GET", "/v1/collections")),
        ]
    statuses = [status for status, _ in answers]
    assert statuses[:5] == [404, 400, 400, 400, 400], answers
    assert statuses[5:] == [200, 200], answers
    lines = server.log().splitlines()
    banners = [i for i, line in enumerate(lines) if line.startswith("faceindex: ")]  # one per server start
    for start, line in enumerate(lines):
        if any(0 <= start - b < 5 for b in banners):  # the banner's five lines, for people
            continue
        json.loads(line)  # one JSON object a line: no traceback, no warning text, no LiteRT INFO line
    assert not any("Traceback" in line for line in lines)
    assert any('"outcome": "ResourceNotFoundException"' in line for line in lines)


def _jpeg_with_corrupt_exif() -> bytes:
    """A valid photo whose EXIF block is cut short: Pillow warns "Corrupt EXIF data" as it reads it."""
    out = io.BytesIO()
    Image.new("RGB", (200, 200), (10, 20, 30)).save(out, "JPEG")
    data = out.getvalue()
    tiff = b"II*\x00\x08\x00\x00\x00\x05\x00" + b"\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00" + b"\xff" * 20
    payload = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]


def test_text_that_is_not_unicode_is_a_serialization_error(server: LiveServer, admin_key: tuple[str, str]) -> None:
    """JSON may escape a lone surrogate ("\\ud800"), and Python's parser lets raw UTF-8 surrogates
    through; neither is text SQLite can store (a token or a tag held one: HTTP 500)."""
    bodies = [
        ("CreateUser", b'{"CollectionId": "no-such", "UserId": "u", "ClientRequestToken": "a\\ud800b"}'),
        ("DeleteUser", b'{"CollectionId": "no-such", "UserId": "u", "ClientRequestToken": "\xed\xa0\x80"}'),
        ("CreateCollection", b'{"CollectionId": "surrogate-tags", "Tags": {"k": "\\udfff"}}'),
        ("CreateCollection", b'{"CollectionId": "surrogate-tags", "Tags": {"\\ud800": "v"}}'),
    ]
    for operation, body in bodies:
        status, answer, _ = send(signed(server, admin_key, operation, body))
        assert (status, answer["__type"]) == (400, "SerializationException"), (operation, body, answer)
    status, answer, _ = send(signed(server, admin_key, "ListCollections", "{}"))
    assert "surrogate-tags" not in answer["CollectionIds"]


def test_an_integer_past_any_float_is_an_invalid_parameter(server: LiveServer, admin_key: tuple[str, str]) -> None:
    """JSON's 10**400 for a float member (a threshold) overflowed converting to float: HTTP 500."""
    huge = "1" + "0" * 400
    for operation, body in [
        (
            "SearchFaces",
            f'{{"CollectionId": "c", "FaceId": "{"1" * 8}-2222-4333-8444-{"5" * 12}", "FaceMatchThreshold": {huge}}}',
        ),
        (
            "CompareFaces",
            f'{{"SourceImage": {{"Bytes": "AAAA"}}, "TargetImage": {{"Bytes": "AAAA"}}, '
            f'"SimilarityThreshold": -{huge}}}',
        ),
    ]:
        status, answer, _ = send(signed(server, admin_key, operation, body))
        assert (status, answer["__type"]) == (400, "InvalidParameterException"), answer
        assert "Threshold" in answer["Message"]
