"""Rekognition's semantics in the service layer, on fake faces: what each operation returns and refuses."""

from __future__ import annotations

import pytest

from faceindex.errors import (
    Conflict,
    InvalidPaginationToken,
    InvalidParameter,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from faceindex.service import collections, indexing, search, users
from faceindex.service import faces as face_service
from faceindex.service.container import Services


def test_collection_lifecycle_and_pages(services: Services) -> None:
    created = collections.create_collection(services, "people", tags={"team": "photos"})
    assert created.StatusCode == 200 and created.CollectionArn.endswith(":collection/people")
    with pytest.raises(ResourceAlreadyExists):
        collections.create_collection(services, "people")
    with pytest.raises(InvalidParameter):
        collections.create_collection(services, "tagged", tags={"aws:no": "x"})
    assert "tagged" not in collections.list_collections(services).CollectionIds
    for name in ["a", "b", "c"]:
        collections.create_collection(services, name)
    first = collections.list_collections(services, max_results=3)
    assert first.CollectionIds == ("a", "b", "c") and first.NextToken
    rest = collections.list_collections(services, max_results=3, next_token=first.NextToken)
    assert rest.CollectionIds == ("people",) and rest.NextToken is None
    with pytest.raises(InvalidPaginationToken):
        collections.list_collections(services, next_token="garbage")
    assert collections.delete_collection(services, "people") == 200
    with pytest.raises(ResourceNotFound):
        collections.describe_collection(services, "people")


def test_index_search_and_delete(services: Services, photos: dict[str, bytes]) -> None:
    collections.create_collection(services, "people")
    indexed = indexing.index_faces(services, "people", photos["red and blue"], external_image_id="pair.png")
    assert len(indexed.FaceRecords) == 2 and not indexed.UnindexedFaces
    assert {r.Face.ExternalImageId for r in indexed.FaceRecords} == {"pair.png"}
    only_one = indexing.index_faces(services, "people", photos["red and blue"], max_faces=1)
    assert len(only_one.FaceRecords) == 1 and only_one.UnindexedFaces[0].Reasons == ("EXCEEDS_MAX_FACES",)
    assert indexing.index_faces(services, "people", photos["nobody"]).FaceRecords == ()

    found = search.search_faces_by_image(services, "people", photos["red again"])
    assert len(found.FaceMatches) == 2  # the red face of both indexed photos
    assert all(m.Similarity > 99 for m in found.FaceMatches)
    assert search.search_faces_by_image(services, "people", photos["green"]).FaceMatches == ()
    with pytest.raises(InvalidParameter):
        search.search_faces_by_image(services, "people", photos["nobody"])

    red_id = found.FaceMatches[0].Face.FaceId
    by_id = search.search_faces(services, "people", red_id)
    assert [m.Face.FaceId for m in by_id.FaceMatches] != [red_id] and len(by_id.FaceMatches) == 1

    listed = search.list_faces(services, "people", max_results=2)
    assert len(listed.Faces) == 2 and listed.NextToken
    assert len(search.list_faces(services, "people", next_token=listed.NextToken).Faces) == 1
    with pytest.raises(InvalidPaginationToken):
        collections.create_collection(services, "other")
        search.list_faces(services, "other", next_token=listed.NextToken)

    deleted = search.delete_faces(services, "people", [red_id])
    assert deleted.DeletedFaces == (red_id,)
    assert collections.describe_collection(services, "people").FaceCount == 2


def test_users_group_faces_and_are_searched(services: Services, photos: dict[str, bytes]) -> None:
    collections.create_collection(services, "people")
    red = [
        r.Face.FaceId
        for name in ("red", "red again")
        for r in indexing.index_faces(services, "people", photos[name]).FaceRecords
    ]
    blue = indexing.index_faces(services, "people", photos["blue"]).FaceRecords[0].Face.FaceId
    users.create_user(services, "people", "ann")
    with pytest.raises(Conflict):
        users.create_user(services, "people", "ann")
    associated = users.associate_faces(services, "people", "ann", red[:1])
    assert [f.FaceId for f in associated.AssociatedFaces] == red[:1]
    assert users.list_users(services, "people").Users[0].UserId == "ann"

    matched = users.search_users_by_image(services, "people", photos["red"])
    assert [m.User.UserId for m in matched.UserMatches] == ["ann"]
    assert users.search_users_by_image(services, "people", photos["blue"]).UserMatches == ()
    by_face = users.search_users(services, "people", face_id=red[1])  # the same person, not yet ann's
    assert [m.User.UserId for m in by_face.UserMatches] == ["ann"]
    assert users.search_users(services, "people", face_id=red[0]).UserMatches == ()  # never the face's own user

    assert search.delete_faces(services, "people", [red[0]]).DeletedFaces == ()  # a user's face is kept
    users.disassociate_faces(services, "people", "ann", [red[0]])
    assert search.delete_faces(services, "people", [red[0], blue]).DeletedFaces == (red[0], blue)
    users.delete_user(services, "people", "ann")
    assert users.list_users(services, "people").Users == ()


def test_detect_and_compare(services: Services, photos: dict[str, bytes]) -> None:
    details = face_service.detect_faces(services.engine, photos["red and blue"], ["ALL"])
    assert len(details) == 2 and details[0].EyesOpen is not None
    with pytest.raises(InvalidParameter):
        face_service.detect_faces(services.engine, photos["red"], ["BOGUS"])
    compared = face_service.compare_faces(services.engine, photos["red"], photos["red and blue"])
    assert len(compared.FaceMatches) == 1 and len(compared.UnmatchedFaces) == 1
    assert compared.FaceMatches[0].Similarity > 99
    with pytest.raises(InvalidParameter):
        face_service.compare_faces(services.engine, photos["nobody"], photos["red"])
