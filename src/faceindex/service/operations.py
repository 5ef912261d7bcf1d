"""Every operation the service door runs: its use-case, permission class, whether it takes a
ClientRequestToken, which threshold has a floor, its documented default, and whether it is audited.

Parameters are Rekognition's members (the REST API and the CLI build the same dictionaries), arrived
validated against botocore's input shape where they came over the wire; range and pattern checks are the
use-cases' own, shared by every adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faceindex.imaging.sources import image_input
from faceindex.service import admin, collections, erasure, indexing, search, users, video
from faceindex.service import faces as face_service
from faceindex.service.container import Services

Handler = Callable[[Services, dict[str, Any]], Any]


@dataclass(frozen=True)
class Operation:
    name: str
    run: Handler
    permission: str  # detect | compare | identify | manage | admin (service.policy)
    idempotent: bool = False  # takes a ClientRequestToken: a retry answers as the first call did
    threshold: str | None = None  # the member a similarity floor raises (1:N searches)
    default_threshold: float | None = None  # its documented default
    audited: bool = True  # touches biometric data or access (every operation but metadata reads)
    rekognition: bool = True  # served on Rekognition's wire protocol


def _image(services: Services, params: dict[str, Any], name: str = "Image") -> Any:
    return image_input(params[name], services.settings, name)


def detect_faces(s: Services, p: dict[str, Any]) -> Any:
    return {"FaceDetails": face_service.detect_faces(s.engine, _image(s, p), p.get("Attributes") or ["DEFAULT"])}


def compare_faces(s: Services, p: dict[str, Any]) -> Any:
    source, target = _image(s, p, "SourceImage"), _image(s, p, "TargetImage")
    return face_service.compare_faces(
        s.engine, source, target, p.get("SimilarityThreshold", 80.0), p.get("QualityFilter")
    )


def index_faces(s: Services, p: dict[str, Any]) -> Any:
    return indexing.index_faces(
        s,
        p["CollectionId"],
        _image(s, p),
        external_image_id=p.get("ExternalImageId"),
        max_faces=p.get("MaxFaces"),
        quality_filter=p.get("QualityFilter"),
        detection_attributes=p.get("DetectionAttributes"),
        sha256=p.get("ImageSha256"),  # not a Rekognition member (the wire refuses it): the CLI's, for re-runs
    )


def search_faces_by_image(s: Services, p: dict[str, Any]) -> Any:
    return search.search_faces_by_image(
        s, p["CollectionId"], _image(s, p), p.get("MaxFaces"), p.get("FaceMatchThreshold"), p.get("QualityFilter")
    )


def search_users_by_image(s: Services, p: dict[str, Any]) -> Any:
    return users.search_users_by_image(
        s, p["CollectionId"], _image(s, p), p.get("UserMatchThreshold"), p.get("MaxUsers"), p.get("QualityFilter")
    )


def _empty(call: Callable[[Services, dict[str, Any]], Any]) -> Handler:
    def handler(s: Services, p: dict[str, Any]) -> Any:
        call(s, p)
        return {}

    return handler


def _operations(*operations: Operation) -> dict[str, Operation]:
    return {operation.name: operation for operation in operations}


FACE_MATCH, USER_MATCH = "FaceMatchThreshold", "UserMatchThreshold"

OPERATIONS = _operations(
    Operation("DetectFaces", detect_faces, "detect"),
    Operation("CompareFaces", compare_faces, "compare"),
    Operation(
        "CreateCollection",
        lambda s, p: collections.create_collection(s, p["CollectionId"], p.get("Tags")),
        "manage",
    ),
    Operation(
        "DeleteCollection",
        lambda s, p: {"StatusCode": collections.delete_collection(s, p["CollectionId"])},
        "manage",
    ),
    Operation(
        "DescribeCollection",
        lambda s, p: collections.describe_collection(s, p["CollectionId"]),
        "manage",
        audited=False,
    ),
    Operation(
        "ListCollections",
        lambda s, p: collections.list_collections(s, p.get("MaxResults"), p.get("NextToken")),
        "manage",
        audited=False,
    ),
    Operation("IndexFaces", index_faces, "manage"),
    Operation(
        "ListFaces",
        lambda s, p: search.list_faces(
            s, p["CollectionId"], p.get("MaxResults"), p.get("NextToken"), p.get("UserId"), p.get("FaceIds")
        ),
        "manage",
    ),
    Operation("DeleteFaces", lambda s, p: search.delete_faces(s, p["CollectionId"], p["FaceIds"]), "manage"),
    Operation(
        "SearchFaces",
        lambda s, p: search.search_faces(s, p["CollectionId"], p["FaceId"], p.get("MaxFaces"), p.get(FACE_MATCH)),
        "identify",
        threshold=FACE_MATCH,
        default_threshold=80.0,
    ),
    Operation("SearchFacesByImage", search_faces_by_image, "identify", threshold=FACE_MATCH, default_threshold=80.0),
    Operation(
        "CreateUser",
        _empty(lambda s, p: users.create_user(s, p["CollectionId"], p["UserId"])),
        "manage",
        idempotent=True,
    ),
    Operation(
        "DeleteUser",
        _empty(lambda s, p: users.delete_user(s, p["CollectionId"], p["UserId"])),
        "manage",
        idempotent=True,
    ),
    Operation(
        "ListUsers",
        lambda s, p: users.list_users(s, p["CollectionId"], p.get("MaxResults"), p.get("NextToken")),
        "manage",
    ),
    Operation(
        "AssociateFaces",
        lambda s, p: users.associate_faces(s, p["CollectionId"], p["UserId"], p["FaceIds"], p.get(USER_MATCH)),
        "manage",
        idempotent=True,
    ),
    Operation(
        "DisassociateFaces",
        lambda s, p: users.disassociate_faces(s, p["CollectionId"], p["UserId"], p["FaceIds"]),
        "manage",
        idempotent=True,
    ),
    Operation(
        "SearchUsers",
        lambda s, p: users.search_users(
            s, p["CollectionId"], p.get("UserId"), p.get("FaceId"), p.get(USER_MATCH), p.get("MaxUsers")
        ),
        "identify",
        threshold=USER_MATCH,
        default_threshold=80.0,
    ),
    Operation("SearchUsersByImage", search_users_by_image, "identify", threshold=USER_MATCH, default_threshold=80.0),
    Operation(
        "TagResource",
        _empty(lambda s, p: collections.tag_resource(s, p["ResourceArn"], p["Tags"])),
        "manage",
    ),
    Operation(
        "UntagResource",
        _empty(lambda s, p: collections.untag_resource(s, p["ResourceArn"], p["TagKeys"])),
        "manage",
    ),
    Operation(
        "ListTagsForResource",
        lambda s, p: {"Tags": collections.list_tags(s, p["ResourceArn"])},
        "manage",
        audited=False,
    ),
    # stored video (issue 14): jobs, with the job table's own 7-day ClientRequestToken (service.video)
    Operation("StartFaceDetection", video.start_face_detection, "detect"),
    Operation("GetFaceDetection", video.get_face_detection, "detect"),
    Operation("StartFaceSearch", video.start_face_search, "identify", threshold=FACE_MATCH, default_threshold=80.0),
    Operation("GetFaceSearch", video.get_face_search, "identify"),
    # faceindex's own: erasure (REST and CLI), retention, keys and policies (CLI)
    Operation("EraseFaces", erasure.erase, "manage", rekognition=False),
    Operation("RunRetention", erasure.run_retention, "admin", rekognition=False),
    Operation("CreateAccessKey", admin.create_key, "admin", rekognition=False),
    Operation("RevokeAccessKey", admin.revoke_key, "admin", rekognition=False),
    Operation("PutCollectionPolicy", admin.put_policy, "admin", rekognition=False),
    Operation("DescribeCollectionPolicy", admin.describe_policy, "admin", audited=False, rekognition=False),
)

REKOGNITION = {name: operation for name, operation in OPERATIONS.items() if operation.rekognition}
