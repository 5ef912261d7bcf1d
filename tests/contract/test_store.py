"""One contract, every Store: the SQLite store and the in-memory one behave alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceindex.errors import Conflict, ResourceAlreadyExists, ResourceNotFound
from faceindex.store.base import Store
from faceindex.store.records import AccessKeyRecord, NewFace, RecordedRequest
from faceindex.store.registry import STORES, open_store
from faceindex.types import BoundingBox

BOX = BoundingBox(Width=0.2, Height=0.3, Left=0.1, Top=0.1)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(request.param, tmp_path / "data")
    yield opened
    opened.close()


def _faces(count: int, seed: int = 0) -> list[NewFace]:
    rng = np.random.default_rng(seed)
    return [NewFace(BOX, 99.0, rng.normal(0, 0.1, 128).astype(np.float32)) for _ in range(count)]


def test_collections(store: Store) -> None:
    created = store.create_collection("b", "arn:b", "dlib-v1")
    assert store.collection("b") == created
    with pytest.raises(ResourceAlreadyExists):
        store.create_collection("b", "arn:b", "dlib-v1")
    for name in ("c", "a"):
        store.create_collection(name, f"arn:{name}", "dlib-v1")
    assert [c.name for c in store.list_collections("", 2)] == ["a", "b"]
    assert [c.name for c in store.list_collections("b", 10)] == ["c"]
    store.delete_collection("b")
    with pytest.raises(ResourceNotFound):
        store.collection("b")
    with pytest.raises(ResourceNotFound):
        store.delete_collection("b")
    again = store.create_collection("b", "arn:b", "dlib-v1")
    assert again.row_id != created.row_id
    assert store.face_counts() == [("a", 0), ("b", 0), ("c", 0)]


def test_faces_and_the_change_log(store: Store) -> None:
    people = store.create_collection("people", "arn:p", "dlib-v1")
    faces = _faces(3)
    records = store.add_faces(people, faces, "photo.jpg", "sha-1", "dlib-v1")
    assert len({r.face_id for r in records}) == 3 and len({r.image_id for r in records}) == 1
    assert store.count_faces(people) == 3 and store.image_indexed(people, "sha-1")
    listed = store.list_faces(people, 0, 2)
    assert [f.face_id for f in listed] == [r.face_id for r in records[:2]]
    assert store.list_faces(people, listed[-1].row_id, 10)[0].face_id == records[2].face_id
    found = store.faces_by_id(people, [records[1].face_id], descriptors=True)
    assert found[0].descriptor is not None and np.array_equal(found[0].descriptor, faces[1].descriptor)
    keys, vectors = store.descriptors_by_row(np.array([records[2].row_id, 10**9]))
    assert keys.tolist() == [records[2].row_id] and np.array_equal(vectors[0], faces[2].descriptor)
    seq, all_keys, all_vectors = store.descriptors(people)
    assert all_keys.tolist() == [r.row_id for r in records] and all_vectors.shape == (3, 128)
    assert seq == store.last_change(people)

    deleted = store.delete_faces(people, [records[0].face_id, "00000000-0000-0000-0000-000000000000"])
    assert [f.face_id for f in deleted] == [records[0].face_id]
    new_seq, changes = store.changes_since(people, seq)
    assert new_seq > seq and changes == [(records[0].row_id, None)]
    assert store.changes_since(people, new_seq) == (new_seq, [])
    store.delete_faces(people, [r.face_id for r in records])
    assert not store.image_indexed(people, "sha-1")  # no face of the image is left
    assert store.add_faces(people, [], None, "sha-2", "dlib-v1") == [] and not store.image_indexed(people, "sha-2")


def test_users(store: Store) -> None:
    people = store.create_collection("people", "arn:p", "dlib-v1")
    records = store.add_faces(people, _faces(2), None, None, "dlib-v1")
    store.create_user(people, "ann")
    with pytest.raises(Conflict):
        store.create_user(people, "ann")
    store.create_user(people, "bob")
    assert store.list_users(people, "", 10) == ["ann", "bob"] and store.list_users(people, "ann", 10) == ["bob"]
    store.set_user(people, [records[0].face_id], "ann")
    assert [f.face_id for f in store.user_faces(people, "ann")] == [records[0].face_id]
    assert store.delete_faces(people, [records[0].face_id]) == []  # a user's face stays
    assert [f.face_id for f in store.list_faces(people, 0, 10, user_id="ann")] == [records[0].face_id]
    store.delete_user(people, "ann")
    assert not store.user_exists(people, "ann") and store.user_faces(people, "ann") == []
    assert store.faces_by_row([records[0].row_id])[records[0].row_id].user_id is None
    with pytest.raises(ResourceNotFound):
        store.delete_user(people, "ann")
    assert store.count_users(people) == 1


def test_tokens_tags_and_keys(store: Store) -> None:
    store.create_collection("people", "arn:p", "dlib-v1")
    request = RecordedRequest("CreateUser", "t1", "people", "ann", "sha")
    store.record_response(request, '{"ok": 1}', forget_before=0.0, now=100.0)
    assert store.recorded_response("CreateUser", "t1", since=50.0) == ("sha", '{"ok": 1}')
    assert store.recorded_response("CreateUser", "t1", since=150.0) is None
    store.delete_collection("people")  # takes the responses naming it
    assert store.recorded_response("CreateUser", "t1", since=0.0) is None

    store.tag("arn:x", {"a": "1", "b": "2"})
    store.untag("arn:x", ["a", "missing"])
    assert store.tags("arn:x") == {"b": "2"} and store.tags("arn:none") == {}

    key = AccessKeyRecord("FIAK1", b"sealed", "test", ("*",), 1.0)
    store.add_access_key(key)
    assert store.access_key("FIAK1") == key and store.access_keys() == [key]
    assert store.revoke_access_key("FIAK1", 2.0) and not store.revoke_access_key("FIAK1", 3.0)
    revoked = store.access_key("FIAK1")
    assert revoked is not None and revoked.revoked_at == 2.0
