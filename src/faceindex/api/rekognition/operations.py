"""The Rekognition operations faceindex serves: request members -> the service function -> result.

Parameters arrive decoded and validated against botocore's input shape (types, required members),
so handlers only name them; range and pattern checks are the service layer's, shared with the CLI
and the REST API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faceindex.api.images import image_input
from faceindex.jsonable import to_jsonable
from faceindex.service import collections, idempotency, indexing, search, users
from faceindex.service import faces as face_service
from faceindex.service.container import Services

Handler = Callable[[Services, dict[str, Any]], Any]


def _image(services: Services, params: dict[str, Any], name: str = "Image") -> Any:
    return image_input(params[name], services.settings, name)


def detect_faces(s: Services, p: dict[str, Any]) -> Any:
    return {"FaceDetails": face_service.detect_faces(s.engine, _image(s, p), p.get("Attributes") or ["DEFAULT"])}


def compare_faces(s: Services, p: dict[str, Any]) -> Any:
    source, target = _image(s, p, "SourceImage"), _image(s, p, "TargetImage")
    return face_service.compare_faces(
        s.engine, source, target, p.get("SimilarityThreshold", 80.0), p.get("QualityFilter")
    )


def create_collection(s: Services, p: dict[str, Any]) -> Any:
    return collections.create_collection(s, p["CollectionId"], p.get("Tags"))


def delete_collection(s: Services, p: dict[str, Any]) -> Any:
    return {"StatusCode": collections.delete_collection(s, p["CollectionId"])}


def index_faces(s: Services, p: dict[str, Any]) -> Any:
    return indexing.index_faces(
        s,
        p["CollectionId"],
        _image(s, p),
        external_image_id=p.get("ExternalImageId"),
        max_faces=p.get("MaxFaces"),
        quality_filter=p.get("QualityFilter"),
        detection_attributes=p.get("DetectionAttributes"),
    )


def search_faces_by_image(s: Services, p: dict[str, Any]) -> Any:
    return search.search_faces_by_image(
        s, p["CollectionId"], _image(s, p), p.get("MaxFaces"), p.get("FaceMatchThreshold"), p.get("QualityFilter")
    )


def search_users_by_image(s: Services, p: dict[str, Any]) -> Any:
    return users.search_users_by_image(
        s, p["CollectionId"], _image(s, p), p.get("UserMatchThreshold"), p.get("MaxUsers"), p.get("QualityFilter")
    )


def _empty(call: Callable[..., Any]) -> Handler:
    def handler(s: Services, p: dict[str, Any]) -> Any:
        call(s, p)
        return {}

    return handler


def _once(operation: str, handler: Handler) -> Handler:
    """The handler of an operation with a ClientRequestToken: a retried request answers as it first did."""

    def run_once(s: Services, p: dict[str, Any]) -> Any:
        return idempotency.once(s, operation, p, lambda: to_jsonable(handler(s, p)))

    return run_once


HANDLERS: dict[str, Handler] = {
    "DetectFaces": detect_faces,
    "CompareFaces": compare_faces,
    "CreateCollection": create_collection,
    "DeleteCollection": delete_collection,
    "DescribeCollection": lambda s, p: collections.describe_collection(s, p["CollectionId"]),
    "ListCollections": lambda s, p: collections.list_collections(s, p.get("MaxResults"), p.get("NextToken")),
    "IndexFaces": index_faces,
    "ListFaces": lambda s, p: search.list_faces(
        s, p["CollectionId"], p.get("MaxResults"), p.get("NextToken"), p.get("UserId"), p.get("FaceIds")
    ),
    "DeleteFaces": lambda s, p: search.delete_faces(s, p["CollectionId"], p["FaceIds"]),
    "SearchFaces": lambda s, p: search.search_faces(
        s, p["CollectionId"], p["FaceId"], p.get("MaxFaces"), p.get("FaceMatchThreshold")
    ),
    "SearchFacesByImage": search_faces_by_image,
    "CreateUser": _once("CreateUser", _empty(lambda s, p: users.create_user(s, p["CollectionId"], p["UserId"]))),
    "DeleteUser": _once("DeleteUser", _empty(lambda s, p: users.delete_user(s, p["CollectionId"], p["UserId"]))),
    "ListUsers": lambda s, p: users.list_users(s, p["CollectionId"], p.get("MaxResults"), p.get("NextToken")),
    "AssociateFaces": _once(
        "AssociateFaces",
        lambda s, p: users.associate_faces(
            s, p["CollectionId"], p["UserId"], p["FaceIds"], p.get("UserMatchThreshold")
        ),
    ),
    "DisassociateFaces": _once(
        "DisassociateFaces",
        lambda s, p: users.disassociate_faces(s, p["CollectionId"], p["UserId"], p["FaceIds"]),
    ),
    "SearchUsers": lambda s, p: users.search_users(
        s, p["CollectionId"], p.get("UserId"), p.get("FaceId"), p.get("UserMatchThreshold"), p.get("MaxUsers")
    ),
    "SearchUsersByImage": search_users_by_image,
    "TagResource": _empty(lambda s, p: collections.tag_resource(s, p["ResourceArn"], p["Tags"])),
    "UntagResource": _empty(lambda s, p: collections.untag_resource(s, p["ResourceArn"], p["TagKeys"])),
    "ListTagsForResource": lambda s, p: {"Tags": collections.list_tags(s, p["ResourceArn"])},
}


# Inputs accepted and not acted on, listed in docs/rekognition-compatibility.md.
IGNORED_MEMBERS: dict[str, dict[str, str]] = {}
