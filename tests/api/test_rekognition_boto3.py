"""Every supported operation through boto3 against the live server, responses checked against
botocore's model by the `rekognition` fixture."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image


def image(path: Path) -> dict[str, bytes]:
    return {"Bytes": path.read_bytes()}


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 200)).save(out, "PNG")
    return out.getvalue()


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    return str(caught.value.response["Error"]["Code"])


def test_detect_and_compare(rekognition: Any, testdata: Path) -> None:
    found = rekognition.detect_faces(Image=image(testdata / "multi/obama_and_biden.jpg"), Attributes=["ALL"])
    assert len(found["FaceDetails"]) >= 2
    first = found["FaceDetails"][0]
    assert {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence", "EyesOpen", "MouthOpen"} <= set(first)
    assert found["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    compared = rekognition.compare_faces(
        SourceImage=image(testdata / "faces/obama/1.jpg"),
        TargetImage=image(testdata / "multi/obama_and_biden.jpg"),
        SimilarityThreshold=80,
    )
    assert len(compared["FaceMatches"]) == 1 and compared["FaceMatches"][0]["Similarity"] >= 80
    assert compared["UnmatchedFaces"]
    assert "EyesOpen" not in compared["SourceImageFace"]  # ComparedSourceImageFace has only box and confidence
    # QualityFilter: the crowd's faces (18-29 px) are all under HIGH's smallest face
    loose, strict = (
        rekognition.compare_faces(
            SourceImage=image(testdata / "faces/obama/1.jpg"),
            TargetImage=image(testdata / "crowd/1.jpg"),
            QualityFilter=quality_filter,
        )
        for quality_filter in ("NONE", "HIGH")
    )
    assert len(loose["UnmatchedFaces"]) >= 30 and strict["UnmatchedFaces"] == [] and strict["SourceImageFace"]


def test_image_from_a_bucket_folder(rekognition: Any) -> None:
    found = rekognition.detect_faces(Image={"S3Object": {"Bucket": "testdata", "Name": "faces/biden/1.jpg"}})
    assert len(found["FaceDetails"]) == 1
    # a NUL byte and a name longer than the file system's limit (255) are missing objects too, not faults
    for name in ("faces/biden/none.jpg", "../README.md", "../../etc/passwd", "faces/biden/1.jpg\x00.png", "x" * 300):
        code = error_code(rekognition.detect_faces, Image={"S3Object": {"Bucket": "testdata", "Name": name}})
        assert code == "InvalidS3ObjectException"
    code = error_code(rekognition.detect_faces, Image={"S3Object": {"Bucket": "elsewhere", "Name": "a.jpg"}})
    assert code == "InvalidS3ObjectException"


def test_collection_lifecycle_and_tags(rekognition: Any) -> None:
    created = rekognition.create_collection(CollectionId="boto-life", Tags={"team": "photos"})
    assert created["StatusCode"] == 200 and created["CollectionArn"].startswith("arn:aws:rekognition:")
    assert error_code(rekognition.create_collection, CollectionId="boto-life") == "ResourceAlreadyExistsException"
    described = rekognition.describe_collection(CollectionId="boto-life")
    assert described["FaceCount"] == 0 and described["UserCount"] == 0
    assert described["CreationTimestamp"].year >= 2026  # a timestamp botocore parsed
    listed = rekognition.list_collections(MaxResults=1000)
    assert "boto-life" in listed["CollectionIds"]

    arn = created["CollectionArn"]
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "photos"}
    rekognition.tag_resource(ResourceArn=arn, Tags={"owner": "ana"})
    rekognition.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"owner": "ana"}

    assert rekognition.delete_collection(CollectionId="boto-life")["StatusCode"] == 200
    assert error_code(rekognition.describe_collection, CollectionId="boto-life") == "ResourceNotFoundException"
    assert error_code(rekognition.create_collection, CollectionId="bad id!") == "InvalidParameterException"


def test_list_collections_pages(rekognition: Any) -> None:
    for n in range(3):
        rekognition.create_collection(CollectionId=f"boto-page-{n}")
    seen, token = [], None
    while True:
        page = rekognition.list_collections(MaxResults=2, **({"NextToken": token} if token else {}))
        seen += page["CollectionIds"]
        token = page.get("NextToken")
        if not token:
            break
    assert {f"boto-page-{n}" for n in range(3)} <= set(seen)
    paginator = rekognition.get_paginator("list_collections")
    assert {f"boto-page-{n}" for n in range(3)} <= {c for p in paginator.paginate() for c in p["CollectionIds"]}
    for n in range(3):
        rekognition.delete_collection(CollectionId=f"boto-page-{n}")


def test_index_search_list_delete(rekognition: Any, testdata: Path) -> None:
    rekognition.create_collection(CollectionId="boto-faces")
    indexed = rekognition.index_faces(
        CollectionId="boto-faces",
        Image=image(testdata / "faces/obama/1.jpg"),
        ExternalImageId="obama-1",
        DetectionAttributes=["ALL"],
        MaxFaces=1,
        QualityFilter="AUTO",
    )
    assert len(indexed["FaceRecords"]) == 1 and indexed["FaceModelVersion"]
    obama = indexed["FaceRecords"][0]["Face"]["FaceId"]
    rekognition.index_faces(CollectionId="boto-faces", Image=image(testdata / "faces/obama/2.jpg"))
    biden = rekognition.index_faces(CollectionId="boto-faces", Image=image(testdata / "faces/biden/1.jpg"))
    biden_id = biden["FaceRecords"][0]["Face"]["FaceId"]
    group = rekognition.index_faces(
        CollectionId="boto-faces", Image=image(testdata / "multi/obama_and_biden.jpg"), MaxFaces=1
    )
    assert len(group["FaceRecords"]) == 1
    assert any("EXCEEDS_MAX_FACES" in u["Reasons"] for u in group["UnindexedFaces"])

    found = rekognition.search_faces_by_image(
        CollectionId="boto-faces", Image=image(testdata / "faces/obama/3.jpg"), FaceMatchThreshold=80, MaxFaces=10
    )
    assert found["FaceMatches"] and found["SearchedFaceBoundingBox"]["Width"] > 0
    assert biden_id not in {m["Face"]["FaceId"] for m in found["FaceMatches"]}
    # the calibrated false-match estimate of each match, in order, in a header (the body is botocore's shape)
    rates = [float(r) for r in found["ResponseMetadata"]["HTTPHeaders"]["x-faceindex-false-match-rates"].split(",")]
    assert len(rates) == len(found["FaceMatches"]) and all(0 <= r <= 0.01 for r in rates) and rates == sorted(rates)
    by_id = rekognition.search_faces(CollectionId="boto-faces", FaceId=obama)
    assert by_id["SearchedFaceId"] == obama and obama not in {m["Face"]["FaceId"] for m in by_id["FaceMatches"]}
    assert by_id["FaceMatches"]

    faces = rekognition.list_faces(CollectionId="boto-faces", MaxResults=2)
    assert len(faces["Faces"]) == 2 and faces["NextToken"]
    rest = rekognition.list_faces(CollectionId="boto-faces", NextToken=faces["NextToken"])
    assert len(faces["Faces"]) + len(rest["Faces"]) == 4
    only = rekognition.list_faces(CollectionId="boto-faces", FaceIds=[obama])
    assert [f["FaceId"] for f in only["Faces"]] == [obama]

    deleted = rekognition.delete_faces(
        CollectionId="boto-faces", FaceIds=[biden_id, "f1b7a8ad-0000-4000-8000-000000000000"]
    )
    assert deleted["DeletedFaces"] == [biden_id]
    assert deleted["UnsuccessfulFaceDeletions"][0]["Reasons"] == ["FACE_NOT_FOUND"]
    code = error_code(
        rekognition.search_faces_by_image, CollectionId="boto-faces", Image=image(testdata / "edge/corrupt/text.jpg")
    )
    assert code == "InvalidImageFormatException"
    rekognition.delete_collection(CollectionId="boto-faces")


def test_users(rekognition: Any, testdata: Path) -> None:
    rekognition.create_collection(CollectionId="boto-users")
    ids = [
        rekognition.index_faces(CollectionId="boto-users", Image=image(testdata / f"faces/obama/{n}.jpg"))[
            "FaceRecords"
        ][0]["Face"]["FaceId"]
        for n in (1, 2, 3)
    ]
    rekognition.create_user(CollectionId="boto-users", UserId="barack", ClientRequestToken="token-00001")
    assert error_code(rekognition.create_user, CollectionId="boto-users", UserId="barack") == "ConflictException"
    users = rekognition.list_users(CollectionId="boto-users")
    assert [u["UserId"] for u in users["Users"]] == ["barack"]

    associated = rekognition.associate_faces(CollectionId="boto-users", UserId="barack", FaceIds=ids[:2])
    assert {f["FaceId"] for f in associated["AssociatedFaces"]} == set(ids[:2])
    assert associated["UserStatus"] in ("ACTIVE", "UPDATING", "CREATED", "CREATING")

    by_user = rekognition.search_users(CollectionId="boto-users", UserId="barack")
    assert by_user["SearchedUser"]["UserId"] == "barack"
    by_face = rekognition.search_users(CollectionId="boto-users", FaceId=ids[2], UserMatchThreshold=70)
    assert by_face["UserMatches"][0]["User"]["UserId"] == "barack"
    by_image = rekognition.search_users_by_image(
        CollectionId="boto-users", Image=image(testdata / "faces/obama/4.jpg"), MaxUsers=5
    )
    assert by_image["UserMatches"][0]["User"]["UserId"] == "barack"
    assert by_image["SearchedFace"]["FaceDetail"]["BoundingBox"]

    removed = rekognition.disassociate_faces(CollectionId="boto-users", UserId="barack", FaceIds=[ids[0]])
    assert [f["FaceId"] for f in removed["DisassociatedFaces"]] == [ids[0]]
    rekognition.delete_user(CollectionId="boto-users", UserId="barack")
    assert (
        error_code(rekognition.delete_user, CollectionId="boto-users", UserId="barack") == "ResourceNotFoundException"
    )
    rekognition.delete_collection(CollectionId="boto-users")


def test_client_request_token_makes_a_retry_answer_as_the_first_request(rekognition: Any, testdata: Path) -> None:
    rekognition.create_collection(CollectionId="boto-tokens")
    face_id = rekognition.index_faces(CollectionId="boto-tokens", Image=image(testdata / "faces/biden/1.jpg"))[
        "FaceRecords"
    ][0]["Face"]["FaceId"]
    for _ in range(2):  # a retry after a lost response: the same answer, not ConflictException
        rekognition.create_user(CollectionId="boto-tokens", UserId="joe", ClientRequestToken="create-joe")
    assert error_code(rekognition.create_user, CollectionId="boto-tokens", UserId="joe") == "ConflictException"
    reused = error_code(
        rekognition.create_user, CollectionId="boto-tokens", UserId="jill", ClientRequestToken="create-joe"
    )
    assert reused == "IdempotentParameterMismatchException"

    associated = rekognition.associate_faces(CollectionId="boto-tokens", UserId="joe", FaceIds=[face_id])
    assert associated["AssociatedFaces"] == [{"FaceId": face_id}]
    first, again = (
        rekognition.disassociate_faces(
            CollectionId="boto-tokens", UserId="joe", FaceIds=[face_id], ClientRequestToken="disassociate-1"
        )
        for _ in range(2)
    )
    assert first["DisassociatedFaces"] == again["DisassociatedFaces"] == [{"FaceId": face_id}]
    fresh = rekognition.disassociate_faces(CollectionId="boto-tokens", UserId="joe", FaceIds=[face_id])
    assert fresh["DisassociatedFaces"] == [] == fresh["UnsuccessfulFaceDisassociations"]  # run again: nothing to do

    for _ in range(2):  # not ResourceNotFound the second time
        rekognition.delete_user(CollectionId="boto-tokens", UserId="joe", ClientRequestToken="delete-joe")
    assert rekognition.list_users(CollectionId="boto-tokens")["Users"] == []
    rekognition.delete_collection(CollectionId="boto-tokens")


def test_unsupported_and_invalid_requests(rekognition: Any, testdata: Path) -> None:
    code = error_code(rekognition.detect_labels, Image=image(testdata / "faces/obama/1.jpg"))
    assert code == "UnsupportedOperationException"
    assert error_code(rekognition.describe_collection, CollectionId="missing-one") == "ResourceNotFoundException"
    assert error_code(rekognition.detect_faces, Image={"Bytes": b"not an image"}) == "InvalidImageFormatException"
    assert (
        error_code(
            rekognition.compare_faces,
            SourceImage={"Bytes": blank_png()},
            TargetImage=image(testdata / "faces/obama/1.jpg"),
        )
        == "InvalidParameterException"
    )
    code = error_code(
        rekognition.search_faces, CollectionId="missing-one", FaceId="f1b7a8ad-0000-4000-8000-000000000000"
    )
    assert code == "ResourceNotFoundException"
