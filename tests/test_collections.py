"""Collections, faces, search and users with Rekognition's semantics: real models, real SQLite."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from faceindex.config import Settings
from faceindex.errors import (
    Conflict,
    IdempotentParameterMismatch,
    InvalidPaginationToken,
    InvalidParameter,
    ResourceAlreadyExists,
    ResourceNotFound,
    ServiceQuotaExceeded,
)
from faceindex.pipeline import FaceEngine
from faceindex.service import collections, indexing, search, users
from faceindex.service.container import Services, open_services
from faceindex.service.idempotency import TOKEN_LIFETIME_S, once
from faceindex.store.records import NewFace, RecordedRequest
from faceindex.store.sqlite.schema import MIGRATIONS
from faceindex.store.sqlite.store import SqliteStore
from faceindex.types import BoundingBox


@pytest.fixture
def services(engine: FaceEngine, tmp_path: Path) -> Services:
    settings = Settings(model_cache=engine.settings.model_cache, data_dir=tmp_path / "data")
    opened = open_services(settings, engine)
    yield opened
    opened.close()


def _index(services: Services, testdata: Path, name: str, external: str | None = None) -> indexing.IndexFacesResult:
    data = (testdata / name).read_bytes()
    return indexing.index_faces(services, "people", data, external_image_id=external)


def test_collection_lifecycle(services: Services) -> None:
    created = collections.create_collection(services, "people", tags={"team": "photos"})
    assert created.StatusCode == 200
    assert created.CollectionArn.endswith(":collection/people")
    with pytest.raises(ResourceAlreadyExists):
        collections.create_collection(services, "people")
    with pytest.raises(InvalidParameter, match="CollectionId"):
        collections.create_collection(services, "bad name!")
    described = collections.describe_collection(services, "people")
    assert (described.FaceCount, described.UserCount, described.FaceModelVersion) == (0, 0, "dlib-v1")
    assert collections.list_tags(services, created.CollectionArn) == {"team": "photos"}
    for name in ["a", "b", "c"]:
        collections.create_collection(services, name)
    first = collections.list_collections(services, max_results=2)
    assert first.CollectionIds == ("a", "b") and first.NextToken
    second = collections.list_collections(services, max_results=2, next_token=first.NextToken)
    assert second.CollectionIds == ("c", "people") and second.NextToken is None
    assert collections.delete_collection(services, "people") == 200
    with pytest.raises(ResourceNotFound):
        collections.describe_collection(services, "people")
    with pytest.raises(InvalidPaginationToken, match="pagination token"):
        collections.list_collections(services, next_token="garbage")


def test_tags_that_are_not_unicode_text_are_refused(services: Services) -> None:
    """A lone surrogate passes JSON parsers (the REST API's too) but cannot be stored as UTF-8 (it was a 500)."""
    for tags in ({"k": "a\ud800"}, {"\udfff": "v"}):
        with pytest.raises(InvalidParameter, match="tag"):
            collections.create_collection(services, "tagged", tags=tags)
        assert collections.list_collections(services).CollectionIds == ()
    created = collections.create_collection(services, "tagged", tags={"k": "\u00e9t\u00e9 \U0001f600"})
    with pytest.raises(InvalidParameter, match="tag"):
        collections.tag_resource(services, created.CollectionArn, {"k": "\ud800"})
    assert collections.list_tags(services, created.CollectionArn) == {"k": "\u00e9t\u00e9 \U0001f600"}


def test_index_search_list_delete(services: Services, testdata: Path) -> None:
    collections.create_collection(services, "people")
    obama = _index(services, testdata, "faces/obama/1.jpg", "obama_1")
    assert len(obama.FaceRecords) == 1 and not obama.UnindexedFaces
    _index(services, testdata, "faces/biden/1.jpg", "biden_1")
    _index(services, testdata, "faces/obama/2.jpg", "obama_2")
    assert collections.describe_collection(services, "people").FaceCount == 3

    by_image = search.search_faces_by_image(services, "people", (testdata / "faces/obama/4.jpg").read_bytes())
    assert [m.Face.ExternalImageId for m in by_image.FaceMatches] == ["obama_1", "obama_2"] or [
        m.Face.ExternalImageId for m in by_image.FaceMatches
    ] == ["obama_2", "obama_1"]
    assert all(m.Similarity >= 80 for m in by_image.FaceMatches)

    face_id = obama.FaceRecords[0].Face.FaceId
    by_id = search.search_faces(services, "people", face_id)
    assert face_id not in [m.Face.FaceId for m in by_id.FaceMatches]  # never itself
    assert [m.Face.ExternalImageId for m in by_id.FaceMatches] == ["obama_2"]
    everyone = search.search_faces(services, "people", face_id, face_match_threshold=0)
    assert len(everyone.FaceMatches) == 2

    page = search.list_faces(services, "people", max_results=2)
    assert len(page.Faces) == 2 and page.NextToken
    rest = search.list_faces(services, "people", max_results=2, next_token=page.NextToken)
    assert len(rest.Faces) == 1

    missing = "00000000-0000-0000-0000-000000000000"
    result = search.delete_faces(services, "people", [face_id, missing])
    assert result.DeletedFaces == (face_id,)
    assert result.UnsuccessfulFaceDeletions[0].Reasons == ("FACE_NOT_FOUND",)
    assert collections.describe_collection(services, "people").FaceCount == 2
    again = search.search_faces_by_image(services, "people", (testdata / "faces/obama/4.jpg").read_bytes())
    assert [m.Face.ExternalImageId for m in again.FaceMatches] == ["obama_2"]  # the index forgot it too
    with pytest.raises(ResourceNotFound):
        search.search_faces(services, "people", face_id)


def test_max_faces_keeps_the_largest_and_reports_the_rest(services: Services, testdata: Path) -> None:
    collections.create_collection(services, "people")
    data = (testdata / "multi/obama_and_biden.jpg").read_bytes()
    result = indexing.index_faces(services, "people", data, max_faces=1, quality_filter="NONE")
    assert len(result.FaceRecords) == 1
    assert [u.Reasons for u in result.UnindexedFaces] == [("EXCEEDS_MAX_FACES",)] * (len(result.UnindexedFaces))
    areas = [r.Face.BoundingBox.Width * r.Face.BoundingBox.Height for r in result.FaceRecords]
    others = [u.FaceDetail.BoundingBox.Width * u.FaceDetail.BoundingBox.Height for u in result.UnindexedFaces]
    assert min(areas) >= max(others)


def test_quality_filter_reports_small_faces(services: Services, testdata: Path) -> None:
    collections.create_collection(services, "people")
    data = (testdata / "crowd/1.jpg").read_bytes()
    result = indexing.index_faces(services, "people", data, quality_filter="HIGH")
    assert any("SMALL_BOUNDING_BOX" in u.Reasons for u in result.UnindexedFaces)
    assert len(result.FaceRecords) + len(result.UnindexedFaces) >= 30


def test_users(services: Services, testdata: Path) -> None:
    collections.create_collection(services, "people")
    obama = [_index(services, testdata, f"faces/obama/{n}.jpg").FaceRecords[0].Face.FaceId for n in (1, 2, 3)]
    biden = _index(services, testdata, "faces/biden/1.jpg").FaceRecords[0].Face.FaceId
    users.create_user(services, "people", "barack")
    with pytest.raises(Conflict):
        users.create_user(services, "people", "barack")
    users.create_user(services, "people", "joe")
    associated = users.associate_faces(services, "people", "barack", obama[:2])
    assert [a.FaceId for a in associated.AssociatedFaces] == obama[:2]
    refused = users.associate_faces(services, "people", "barack", [biden])
    assert refused.UnsuccessfulFaceAssociations[0].Reasons == ("LOW_MATCH_CONFIDENCE",)
    users.associate_faces(services, "people", "joe", [biden])
    taken = users.associate_faces(services, "people", "joe", [obama[0]])
    assert taken.UnsuccessfulFaceAssociations[0].Reasons == ("ASSOCIATED_TO_A_DIFFERENT_USER",)

    deletion = search.delete_faces(services, "people", [obama[0]])
    assert deletion.UnsuccessfulFaceDeletions[0].Reasons == ("ASSOCIATED_TO_AN_EXISTING_USER",)

    by_face = users.search_users(services, "people", face_id=obama[2])
    assert [m.User.UserId for m in by_face.UserMatches] == ["barack"]
    by_image = users.search_users_by_image(services, "people", (testdata / "multi/obama_and_biden.jpg").read_bytes())
    assert by_image.UserMatches and by_image.UserMatches[0].User.UserId in ("barack", "joe")
    assert len(by_image.UnsearchedFaces) >= 1
    assert users.list_users(services, "people").Users[0].UserId == "barack"
    assert len(search.list_faces(services, "people", user_id="barack").Faces) == 2

    users.disassociate_faces(services, "people", "barack", [obama[0]])
    assert len(search.list_faces(services, "people", user_id="barack").Faces) == 1
    users.delete_user(services, "people", "barack")
    assert collections.describe_collection(services, "people").UserCount == 1
    with pytest.raises(ResourceNotFound):
        users.search_users(services, "people", user_id="barack")


def test_request_tokens_answer_repeats_until_they_expire(services: Services) -> None:
    answers = iter(range(1, 100))

    def run() -> dict[str, int]:
        return {"answer": next(answers)}

    def call(params: dict[str, str], at: float, operation: str = "CreateUser") -> dict[str, int]:
        return once(services, operation, params, run, clock=lambda: at)

    first = {"UserId": "u", "ClientRequestToken": "t1"}
    assert call(first, 1000.0) == {"answer": 1}
    assert call(first, 1000.0 + TOKEN_LIFETIME_S) == {"answer": 1}  # still remembered
    assert call({**first}, 1000.0, operation="DeleteUser") == {"answer": 2}  # a token belongs to one operation
    with pytest.raises(IdempotentParameterMismatch):
        call({**first, "UserId": "v"}, 1000.0)
    assert call({"UserId": "u"}, 1000.0) == {"answer": 3}  # no token: carried out every time
    assert call({"UserId": "u"}, 1000.0) == {"answer": 4}
    assert call(first, 1001.0 + TOKEN_LIFETIME_S) == {"answer": 5}  # expired: carried out again
    assert services.store.recorded_response("DeleteUser", "t1", since=0.0) is None  # expired ones are deleted

    collections.create_collection(services, "people")
    users.create_user(services, "people", "u")
    for token, user in (("t2", "u"), ("t3", "v")):
        call({"CollectionId": "people", "UserId": user, "ClientRequestToken": token}, 2000.0)
    users.delete_user(services, "people", "u")  # deleting a user deletes the responses naming it
    assert services.store.recorded_response("CreateUser", "t2", since=0.0) is None
    assert services.store.recorded_response("CreateUser", "t3", since=0.0) is not None
    collections.delete_collection(services, "people")  # and deleting the collection, all of its
    assert services.store.recorded_response("CreateUser", "t3", since=0.0) is None


def test_a_user_holds_at_most_100_faces(services: Services) -> None:
    collections.create_collection(services, "people")
    collection = services.store.collection("people")
    rng = np.random.default_rng(3)
    centre = rng.normal(0, 0.05, 128).astype(np.float32)
    box = BoundingBox(Width=0.2, Height=0.2, Left=0.4, Top=0.4)
    new = [NewFace(box, 99.0, centre + rng.normal(0, 0.01, 128).astype(np.float32)) for _ in range(101)]
    face_ids = [f.face_id for f in services.store.add_faces(collection, new, None, None, services.face_model_version)]
    users.create_user(services, "people", "u")
    assert len(users.associate_faces(services, "people", "u", face_ids[:100]).AssociatedFaces) == 100
    again = users.associate_faces(services, "people", "u", face_ids[:100])  # already the user's: ignored, not counted
    assert not again.AssociatedFaces and not again.UnsuccessfulFaceAssociations
    with pytest.raises(ServiceQuotaExceeded):
        users.associate_faces(services, "people", "u", face_ids[100:])
    assert len(search.list_faces(services, "people", user_id="u").Faces) == 100


def test_index_catches_up_with_writes_from_another_store_instance(services: Services, testdata: Path) -> None:
    """Two processes share the database: each in-memory index follows the change log."""
    collections.create_collection(services, "people")
    _index(services, testdata, "faces/obama/1.jpg", "first")
    query = (testdata / "faces/obama/2.jpg").read_bytes()
    assert len(search.search_faces_by_image(services, "people", query).FaceMatches) == 1
    other = open_services(services.settings, services.engine)
    indexing.index_faces(other, "people", (testdata / "faces/obama/3.jpg").read_bytes(), external_image_id="second")
    other.close()
    assert len(search.search_faces_by_image(services, "people", query).FaceMatches) == 2


def test_snapshots_are_used_and_rebuilt_when_stale(services: Services, testdata: Path) -> None:
    collections.create_collection(services, "people")
    _index(services, testdata, "faces/obama/1.jpg")
    record = services.store.collection("people")
    services.indexes.get(record)
    services.close()
    snapshots = list((services.settings.data_dir / "indexes").glob("*.json"))
    assert len(snapshots) == 1
    reopened = open_services(services.settings, services.engine)
    _index(reopened, testdata, "faces/obama/2.jpg")  # written after the snapshot
    index = reopened.indexes.get(reopened.store.collection("people"))
    assert len(index) == 2
    keys = reopened.store.descriptors(reopened.store.collection("people"))[1]
    assert np.isin(keys, [k for k in keys if k in index]).all()
    reopened.close()


def test_an_open_collection_moves_to_hnsw_when_it_grows_past_the_threshold(
    services: Services, testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("faceindex.store.index.HNSW_THRESHOLD", 3)
    collections.create_collection(services, "people")
    _index(services, testdata, "faces/obama/1.jpg")
    _index(services, testdata, "faces/obama/2.jpg")
    record = services.store.collection("people")
    assert services.indexes.get(record).kind == "exact"
    _index(services, testdata, "faces/obama/3.jpg")
    index = services.indexes.get(record)
    assert index.kind == "hnsw" and len(index) == 3
    found = search.search_faces_by_image(services, "people", (testdata / "faces/obama/4.jpg").read_bytes())
    assert len(found.FaceMatches) == 3


def test_readers_keep_searching_while_a_writer_indexes(services: Services, testdata: Path) -> None:
    collections.create_collection(services, "people")
    _index(services, testdata, "faces/obama/1.jpg", "seed")
    query = (testdata / "faces/obama/2.jpg").read_bytes()
    writer = open_services(services.settings, services.engine)  # its own connections, like a second process
    photos = [p for p in sorted((testdata / "faces").rglob("*.jp*g")) if "obama" not in str(p)]
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()

    def write() -> None:
        try:
            for photo in photos:
                indexing.index_faces(writer, "people", photo.read_bytes() + b"\0", external_image_id=photo.stem)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    while not done.is_set():
        try:
            counts.append(
                len(search.search_faces_by_image(services, "people", query, face_match_threshold=0).FaceMatches)
            )
        except BaseException as exc:
            errors.append(exc)
            break
    thread.join()
    writer.close()
    assert not errors
    assert len(counts) >= 2 and counts == sorted(counts)  # every search saw a consistent, growing index
    final = search.search_faces_by_image(services, "people", query, face_match_threshold=0).FaceMatches
    assert len(final) == 1 + len(photos)


def test_a_collection_is_pinned_to_its_model_pack(services: Services, testdata: Path) -> None:
    services.store.create_collection("old", services.collection_arn("old"), "some-other-pack")
    with pytest.raises(InvalidParameter, match="some-other-pack"):
        indexing.index_faces(services, "old", (testdata / "faces/obama/1.jpg").read_bytes())
    assert collections.describe_collection(services, "old").FaceModelVersion == "some-other-pack"


def test_a_database_of_an_older_schema_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "faceindex.db"
    old = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):  # a data folder from before request tokens
        old.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    old.execute("INSERT INTO collections (name, arn, face_model_version, created_at) VALUES ('kept', 'a', 'v', 0)")
    old.close()
    store = SqliteStore(path)
    assert store.collection("kept").arn == "a"  # data survives the migration
    store.record_response(RecordedRequest("CreateUser", "t", "kept", "u", "h"), "{}", forget_before=0.0, now=1.0)
    assert store.recorded_response("CreateUser", "t", since=0.0) == ("h", "{}")
    store.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
