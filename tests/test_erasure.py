"""Issue 13.4-13.5: a deleted face is gone from every file of the data folder (the database, its WAL,
the index snapshots), by erase, DeleteFaces and DeleteCollection; retention erases faces past their
collection's period; each erasure's audit entry is its receipt."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from faceindex.config import Settings
from faceindex.pipeline import FaceEngine
from faceindex.service.container import Services, open_services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke

WINDOW = 64  # bytes of a descriptor looked for: 16 float32 values (or 64 int8 ones) never recur by chance


def call(services: Services, operation: str, **params: Any) -> Any:
    return invoke(services, operator(), operation, params).result


def traces(data: Path, patterns: list[bytes]) -> list[str]:
    """The files of the data folder holding any of the patterns."""
    found = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found += [f"{path.name}@{content.find(p)}" for p in patterns if p in content]
    return found


def descriptor_patterns(services: Services, collection: str, face_id: str) -> list[bytes]:
    """The face's float32 descriptor as SQLite stores it, and the int8 vector an HNSW snapshot holds."""
    record = services.store.collection(collection)
    [face] = services.store.faces_by_id(record, [face_id], descriptors=True)
    assert face.descriptor is not None
    vector = np.asarray(face.descriptor, "<f4")
    patterns = [vector.tobytes()[:WINDOW], vector.tobytes()[-WINDOW:]]
    index: Any = services.indexes.get(record)
    if index.kind == "hnsw":
        patterns.append(index._quantise(vector[None].astype(np.float32))[0].tobytes()[:WINDOW])
    return patterns


@pytest.fixture(params=["exact", "hnsw"])
def indexed(request: pytest.FixtureRequest, tmp_path: Path, engine: FaceEngine, testdata: Path) -> Any:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, model_cache=engine.settings.model_cache, vector_index=request.param)
    services = open_services(settings, engine=engine)
    call(services, "CreateCollection", CollectionId="people")
    ids = {}
    for person in ("obama", "biden"):
        image = {"Bytes": (testdata / f"faces/{person}/1.jpg").read_bytes()}
        added = call(services, "IndexFaces", CollectionId="people", Image=image, ExternalImageId=person)
        ids[person] = added.FaceRecords[0].Face.FaceId
    patterns = descriptor_patterns(services, "people", ids["obama"])
    services.close()  # the snapshots are written
    services = open_services(settings, engine=engine)
    assert traces(data, patterns), "the descriptor should be in the data folder before it is erased"
    yield services, data, ids, patterns, testdata
    services.close()


@pytest.mark.parametrize("how", ["erase", "DeleteFaces", "DeleteCollection"])
def test_a_deleted_face_is_in_no_file_of_the_data_folder(indexed: Any, how: str) -> None:
    services, data, ids, patterns, testdata = indexed
    if how == "erase":
        receipt = call(services, "EraseFaces", ExternalImageId="obama")
        assert [e["FaceId"] for e in receipt["ErasedFaces"]] == [ids["obama"]]
    elif how == "DeleteFaces":
        assert call(services, "DeleteFaces", CollectionId="people", FaceIds=[ids["obama"]]).DeletedFaces
    else:
        call(services, "DeleteCollection", CollectionId="people")
    # before the store is closed (which would checkpoint anyway): the erasure itself cleaned every file
    assert traces(data, patterns) == []
    entry = list(services.audit.entries(_last_operation(how)))[-1]
    assert entry["outcome"] == "ok" and (how == "DeleteCollection" or entry["face_ids"] == [ids["obama"]])
    if how != "DeleteCollection":  # the other person is still found
        probe = {"Bytes": (testdata / "faces/biden/2.jpg").read_bytes()}
        matches = call(services, "SearchFacesByImage", CollectionId="people", Image=probe).FaceMatches
        assert [m.Face.FaceId for m in matches] == [ids["biden"]]


def test_erasing_a_user_takes_their_associated_faces_which_delete_faces_refuses(indexed: Any) -> None:
    services, data, ids, patterns, _ = indexed
    call(services, "CreateUser", CollectionId="people", UserId="barack")
    call(services, "AssociateFaces", CollectionId="people", UserId="barack", FaceIds=[ids["obama"]])
    refused = call(services, "DeleteFaces", CollectionId="people", FaceIds=[ids["obama"]])
    assert refused.UnsuccessfulFaceDeletions[0].Reasons == ("ASSOCIATED_TO_AN_EXISTING_USER",)
    receipt = call(services, "EraseFaces", CollectionId="people", UserId="barack")
    assert receipt["ErasedFaces"] == [
        {"CollectionId": "people", "FaceId": ids["obama"], "ExternalImageId": "obama", "UserId": "barack"}
    ]
    assert traces(data, patterns) == []
    assert call(services, "ListUsers", CollectionId="people").Users == ()


def test_retention_erases_what_went_unused_for_longer_than_the_period(indexed: Any) -> None:
    services, data, ids, patterns, testdata = indexed
    call(services, "PutCollectionPolicy", CollectionId="people", RetentionDays=30)
    probe = {"Bytes": (testdata / "faces/biden/2.jpg").read_bytes()}
    assert call(services, "SearchFacesByImage", CollectionId="people", Image=probe).FaceMatches  # biden used now
    nothing = call(services, "RunRetention", Now=time.time() + 10 * 86400)
    assert nothing["ErasedFaceCount"] == 0
    record = services.store.collection("people")
    services.store.touch_faces(record, [ids["obama"]], time.time() - 40 * 86400)  # last used 40 days ago
    receipt = call(services, "RunRetention")
    assert [e["FaceId"] for e in receipt["ErasedFaces"]] == [ids["obama"]]
    assert traces(data, patterns) == []
    entry = list(services.audit.entries(_last_operation("RunRetention")))[-1]
    assert entry["face_ids"] == [ids["obama"]] and entry["principal"].startswith("cli:")


def _last_operation(how: str) -> Any:
    from faceindex.service.audit import Filters

    return Filters(operation={"erase": "EraseFaces"}.get(how, how))
