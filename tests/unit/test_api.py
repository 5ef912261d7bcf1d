"""Both APIs in process (ASGI, no sockets), on fake faces: the adapters' parsing, shapes and errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from faceindex.api.app import create_app
from faceindex.service.container import Services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.settings, services)) as test_client:  # auth none: SigV4 is tested live
        yield test_client


def call(client: TestClient, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/",
        content=json.dumps(body),
        headers={"X-Amz-Target": f"RekognitionService.{operation}", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert response.headers["x-amzn-requestid"]
    return response.status_code, response.json()


def test_the_rekognition_protocol(client: TestClient, photos: dict[str, bytes]) -> None:
    image = {"Bytes": base64.b64encode(photos["red and blue"]).decode()}
    assert call(client, "CreateCollection", {"CollectionId": "people"})[0] == 200
    status, indexed = call(client, "IndexFaces", {"CollectionId": "people", "Image": image})
    assert status == 200 and len(indexed["FaceRecords"]) == 2
    query = {"Bytes": base64.b64encode(photos["blue"]).decode()}
    status, found = call(client, "SearchFacesByImage", {"CollectionId": "people", "Image": query})
    assert status == 200 and len(found["FaceMatches"]) == 1 and found["FaceMatches"][0]["Similarity"] > 99
    assert set(found) >= {"SearchedFaceBoundingBox", "SearchedFaceConfidence", "FaceModelVersion"}
    errors = [
        call(client, "DescribeCollection", {"CollectionId": "nobody"}),
        call(client, "IndexFaces", {"CollectionId": "people", "Image": {"Bytes": "not base64!"}}),
        call(client, "IndexFaces", {"CollectionId": "people", "Image": image, "DetectionAttributes": ["BOGUS"]}),
        call(client, "ListFaces", {"CollectionId": "people", "NextToken": "forged"}),
        call(client, "ListCollections", {"MaxResults": "ten"}),
    ]
    codes = [(status, body["__type"]) for status, body in errors]
    assert codes == [
        (400, "ResourceNotFoundException"),
        (400, "SerializationException"),
        (400, "InvalidParameterException"),
        (400, "InvalidPaginationTokenException"),
        (400, "InvalidParameterException"),
    ]


def test_the_rest_api(client: TestClient, photos: dict[str, bytes]) -> None:
    detected = client.post("/v1/detect", files={"image": ("a.png", photos["red and blue"], "image/png")})
    assert detected.status_code == 200 and len(detected.json()["FaceDetails"]) == 2
    assert client.post("/v1/collections", json={"collection_id": "people"}).status_code == 200
    added = client.post("/v1/collections/people/faces", files={"image": ("a.png", photos["red"], "image/png")})
    assert added.status_code == 200 and len(added.json()["FaceRecords"]) == 1
    missing = client.get("/v1/collections/nobody")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "ResourceNotFoundException"
    broken = client.post("/v1/detect", files={"image": ("a.png", b"not an image", "image/png")})
    assert broken.status_code == 400 and broken.json()["code"] == "InvalidImageFormatException"


def test_every_error_class_has_a_rest_status_and_only_a_fault_is_500() -> None:
    from faceindex import errors
    from faceindex.api.rest import status_of

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.FaceIndexError)]
    assert len(classes) > 10
    for error_class in classes:
        status = status_of(error_class.code)
        assert (status == 500) == (error_class.code == "InternalServerError"), error_class
