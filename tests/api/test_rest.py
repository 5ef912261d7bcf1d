"""The REST API under /v1 with plain HTTP (httpx): multipart uploads, Basic auth, problem+json."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from faceindex.api.rekognition.model import operation
from tests.api.live import LiveServer
from tests.api.shapes import shape_errors


@pytest.fixture(scope="module")
def rest(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=server.new_key(), timeout=300) as client:
        yield client


def upload(path: Path, name: str = "image") -> dict[str, tuple[str, bytes, str]]:
    return {name: (path.name, path.read_bytes(), "application/octet-stream")}


def test_detect_and_compare(rest: httpx.Client, testdata: Path) -> None:
    found = rest.post("/v1/detect", files=upload(testdata / "multi/obama_and_biden.jpg"), data={"attributes": "ALL"})
    assert found.status_code == 200 and len(found.json()["FaceDetails"]) >= 2
    compared = rest.post(
        "/v1/compare",
        files={**upload(testdata / "faces/obama/1.jpg", "source"), **upload(testdata / "faces/obama/2.jpg", "target")},
    )
    assert compared.status_code == 200 and compared.json()["FaceMatches"][0]["Similarity"] >= 80
    small_source = rest.post(
        "/v1/compare",
        files={
            **upload(testdata / "resolution/obama-240p.jpg", "source"),
            **upload(testdata / "faces/obama/2.jpg", "target"),
        },
        data={"quality_filter": "HIGH"},
    )
    assert small_source.status_code == 400 and "QualityFilter" in small_source.json()["detail"]


def test_collections_faces_users_and_search(rest: httpx.Client, testdata: Path) -> None:
    assert rest.post("/v1/collections", json={"collection_id": "rest-c"}).status_code == 200
    assert rest.post("/v1/collections", json={"collection_id": "rest-c"}).status_code == 409
    assert "rest-c" in rest.get("/v1/collections").json()["CollectionIds"]
    ids = []
    for n in (1, 2, 3):
        indexed = rest.post(
            "/v1/collections/rest-c/faces",
            files=upload(testdata / f"faces/obama/{n}.jpg"),
            data={"external_image_id": f"obama-{n}"},
        )
        assert indexed.status_code == 200, indexed.text
        ids.append(indexed.json()["FaceRecords"][0]["Face"]["FaceId"])
    assert rest.get("/v1/collections/rest-c").json()["FaceCount"] == 3
    listed = rest.get("/v1/collections/rest-c/faces", params={"max_results": 2}).json()
    assert len(listed["Faces"]) == 2 and listed["NextToken"]

    found = rest.post("/v1/collections/rest-c/search", files=upload(testdata / "faces/obama/4.jpg"))
    assert found.status_code == 200 and len(found.json()["FaceMatches"]) == 3
    rates = [m["FalseMatchRate"] for m in found.json()["FaceMatches"]]  # faceindex's estimate beside Similarity
    assert all(0 <= r <= 0.01 for r in rates) and found.headers["x-faceindex-false-match-rates"].count(",") == 2
    similar = rest.get(f"/v1/collections/rest-c/faces/{ids[0]}/matches").json()
    assert {m["Face"]["FaceId"] for m in similar["FaceMatches"]} == set(ids[1:])

    assert rest.post("/v1/collections/rest-c/users", json={"user_id": "barack"}).status_code == 200
    associated = rest.post("/v1/collections/rest-c/users/barack/associate", json={"face_ids": ids})
    assert len(associated.json()["AssociatedFaces"]) == 3
    assert rest.get("/v1/collections/rest-c/users").json()["Users"][0]["UserId"] == "barack"
    by_image = rest.post("/v1/collections/rest-c/users/search", files=upload(testdata / "faces/obama/5.jpg"))
    assert by_image.json()["UserMatches"][0]["User"]["UserId"] == "barack"
    assert rest.get("/v1/collections/rest-c/users/barack/matches").status_code == 200
    removed = rest.post("/v1/collections/rest-c/users/barack/disassociate", json={"face_ids": ids[:1]})
    assert len(removed.json()["DisassociatedFaces"]) == 1
    assert rest.delete("/v1/collections/rest-c/users/barack").status_code == 200
    assert rest.delete(f"/v1/collections/rest-c/faces/{ids[0]}").json()["DeletedFaces"] == [ids[0]]
    assert rest.delete("/v1/collections/rest-c").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/v1/collections/none-such", {}, 404, "ResourceNotFoundException"),
        ("POST", "/v1/collections", {"json": {"collection_id": "bad id!"}}, 400, "InvalidParameterException"),
        ("POST", "/v1/collections", {"content": b"{oops", "headers": {"content-type": "application/json"}}, 400,
         "InvalidParameterException"),
        ("POST", "/v1/detect", {}, 400, "InvalidParameterException"),
        ("POST", "/v1/detect", {"files": {"image": ("x.jpg", b"garbage", "image/jpeg")}}, 400,
         "InvalidImageFormatException"),
        ("POST", "/v1/detect", {"files": {"image": ("x.jpg", b"", "image/jpeg")}}, 400, "InvalidImageFormatException"),
        ("POST", "/v1/detect", {"files": {"image": ("x.jpg", b"0" * (9 * 1024 * 1024), "image/jpeg")}}, 413,
         "ImageTooLargeException"),
        ("GET", "/v1/collections", {"params": {"max_results": "many"}}, 400, "InvalidParameterException"),
        ("GET", "/v1/nothing-here", {}, 404, "ResourceNotFoundException"),
        ("PUT", "/v1/collections", {}, 405, "InvalidParameterException"),
    ],
)  # fmt: skip
def test_errors_are_problem_json(
    rest: httpx.Client, method: str, path: str, kwargs: dict[str, object], status: int, code: str
) -> None:
    response = rest.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code and response.json()["status"] == status


def test_basic_auth_is_required_and_checked(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/v1/collections").status_code == 401
        assert anonymous.get("/v1/collections", auth=("FIAKAAAAAAAAAAAAAAAA", "nope")).status_code == 401
        key_id, _ = server.new_key()
        wrong = anonymous.get("/v1/collections", auth=(key_id, "wrong"))
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
        detect_only = server.new_key("DetectFaces")
        denied = anonymous.get("/v1/collections", auth=detect_only)
        assert denied.status_code == 403 and denied.json()["code"] == "AccessDeniedException"


def test_json_bodies_take_rekognitions_member_names_too(rest: httpx.Client, testdata: Path) -> None:
    """Responses say `CollectionId`, so a request may too; a misspelt member is refused, not ignored."""
    created = rest.post("/v1/collections", json={"CollectionId": "rest-pascal", "Tags": {"team": "a"}})
    assert created.status_code == 200, created.text
    indexed = rest.post("/v1/collections/rest-pascal/faces", files=upload(testdata / "faces/obama/1.jpg"))
    face_id = indexed.json()["FaceRecords"][0]["Face"]["FaceId"]
    assert rest.post("/v1/collections/rest-pascal/users", json={"UserId": "barack"}).status_code == 200
    associated = rest.post(
        "/v1/collections/rest-pascal/users/barack/associate", json={"FaceIds": [face_id], "UserMatchThreshold": 70}
    )
    assert associated.status_code == 200 and associated.json()["AssociatedFaces"] == [{"FaceId": face_id}]
    misspelt = rest.post("/v1/collections", json={"CollectionID": "rest-typo"})
    assert misspelt.status_code == 400 and "CollectionID" in misspelt.json()["detail"]
    assert rest.get("/v1/collections/rest-typo").status_code == 404
    assert rest.delete("/v1/collections/rest-pascal").status_code == 200


def test_responses_have_rekognitions_shapes(rest: httpx.Client, testdata: Path) -> None:
    """What /openapi.json documents (botocore's output shapes) is what comes back, member for member."""
    obama = [upload(testdata / f"faces/obama/{n}.jpg") for n in (1, 2)]
    pair = {
        **upload(testdata / "faces/obama/1.jpg", "source"),
        **upload(testdata / "multi/obama_and_biden.jpg", "target"),
    }
    answers = {"DetectFaces": rest.post("/v1/detect", files=obama[0], data={"attributes": "ALL"})}
    answers["CompareFaces"] = rest.post("/v1/compare", files=pair)
    answers["CreateCollection"] = rest.post("/v1/collections", json={"collection_id": "rest-shapes"})
    answers["IndexFaces"] = rest.post(
        "/v1/collections/rest-shapes/faces", files=obama[0], data={"detection_attributes": "ALL"}
    )
    face_id = answers["IndexFaces"].json()["FaceRecords"][0]["Face"]["FaceId"]
    answers["DescribeCollection"] = rest.get("/v1/collections/rest-shapes")
    answers["ListCollections"] = rest.get("/v1/collections")
    answers["ListFaces"] = rest.get("/v1/collections/rest-shapes/faces")
    answers["SearchFacesByImage"] = rest.post("/v1/collections/rest-shapes/search", files=obama[1])
    answers["SearchFaces"] = rest.get(f"/v1/collections/rest-shapes/faces/{face_id}/matches")
    answers["CreateUser"] = rest.post("/v1/collections/rest-shapes/users", json={"user_id": "u"})
    answers["AssociateFaces"] = rest.post("/v1/collections/rest-shapes/users/u/associate", json={"face_ids": [face_id]})
    answers["ListUsers"] = rest.get("/v1/collections/rest-shapes/users")
    answers["SearchUsersByImage"] = rest.post("/v1/collections/rest-shapes/users/search", files=obama[1])
    answers["SearchUsers"] = rest.get("/v1/collections/rest-shapes/users/u/matches")
    answers["DisassociateFaces"] = rest.post(
        "/v1/collections/rest-shapes/users/u/disassociate", json={"face_ids": [face_id]}
    )
    answers["DeleteUser"] = rest.delete("/v1/collections/rest-shapes/users/u")
    answers["DeleteFaces"] = rest.delete(f"/v1/collections/rest-shapes/faces/{face_id}")
    answers["DeleteCollection"] = rest.delete("/v1/collections/rest-shapes")
    for name, answer in answers.items():
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        for match in body.get("FaceMatches", []) + body.get("UserMatches", []):
            assert 0 <= match.pop("FalseMatchRate") <= 1, name  # faceindex's one member beyond the shape
        assert shape_errors(body, operation(name).output_shape) == [], name


def test_openapi_docs(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        spec = client.get("/openapi.json").json()
        assert "/v1/collections/{collection_id}/search" in spec["paths"] and "/" not in spec["paths"]
        assert client.get("/docs").status_code == 200


def test_anonymous_callers_are_refused_before_their_bodies_are_parsed(server: LiveServer) -> None:
    """401 before 400: a malformed body from a caller without credentials is never looked at."""
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        broken_json = anonymous.post(
            "/v1/collections", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken_json.status_code == 401, broken_json.text
        broken_form = anonymous.post(
            "/v1/detect", content=b"--x\r\nnot a part", headers={"content-type": "multipart/form-data; boundary=x"}
        )
        assert broken_form.status_code == 401, broken_form.text


def test_an_anonymous_upload_is_answered_without_being_read(server: LiveServer) -> None:
    """The server answers 401 as soon as the headers are in: it does not wait for a 4 MB body."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 4000000\r\n\r\n--b\r\n"
        )
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 401"), answer
    assert "connection: close" in answer.lower()
