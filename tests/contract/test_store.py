"""One contract, every Store: the SQLite store and the in-memory one behave alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceindex.errors import Conflict, ResourceAlreadyExists, ResourceNotFound
from faceindex.store.base import Store
from faceindex.store.records import AccessKeyRecord, JobResult, NewFace, NewJob, RecordedRequest
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


# --- issue 13: the safeguards' rows ------------------------------------------------------------


def test_collection_policies(store: Store) -> None:
    from faceindex.store.records import CollectionPolicy

    assert store.collection_policy("people") == CollectionPolicy()
    store.set_collection_policy("people", CollectionPolicy(99.0, True, 1095.0))
    assert store.collection_policy("people") == CollectionPolicy(99.0, True, 1095.0)
    assert store.collection_policies() == {"people": CollectionPolicy(99.0, True, 1095.0)}


def test_audit_rows_chain_in_order_and_filter(store: Store) -> None:
    from faceindex.store.records import AuditColumns, AuditRow

    seen: list[tuple[int, bytes]] = []

    def seal(seq: int, previous: bytes) -> AuditRow:
        seen.append((seq, previous))
        return AuditRow(seq, f'{{"n":{seq}}}', bytes([seq]) * 32, b"sig")

    for number, operation in enumerate(["IndexFaces", "SearchFacesByImage", "IndexFaces"]):
        store.append_audit(AuditColumns(100.0 + number, "FIAK1", operation, "people"), seal)
    assert seen == [(1, bytes(32)), (2, bytes([1]) * 32), (3, bytes([2]) * 32)]
    assert [r.seq for r in store.audit_rows(0, 10, operation="IndexFaces")] == [1, 3]
    assert [r.seq for r in store.audit_rows(1, 10, since=101.0, until=102.0)] == [2]
    assert store.audit_size() == 3
    store.add_audit_head(2, '{"size": 2}', "[]")
    store.add_audit_head(2, '{"size": 2, "again": 1}', "[]")  # a second head at one size is ignored
    assert store.audit_heads() == [(2, '{"size": 2}', "[]")]


def test_sealed_secrets_keep_the_first(store: Store) -> None:
    assert store.sealed_secret("k") is None
    assert store.keep_sealed_secret("k", b"one") == b"one"
    assert store.keep_sealed_secret("k", b"two") == b"one"


def test_erase_faces_by_external_id_user_or_ids_and_unused_faces(store: Store) -> None:
    people = store.create_collection("people", "arn:p", "dlib-v1")
    others = store.create_collection("others", "arn:o", "dlib-v1")
    mine = store.add_faces(people, _faces(2), "ann.jpg", "sha-a", "dlib-v1")
    theirs = store.add_faces(others, _faces(1, seed=1), "ann.jpg", "sha-b", "dlib-v1")
    kept = store.add_faces(people, _faces(1, seed=2), "bob.jpg", "sha-c", "dlib-v1")
    store.create_user(people, "ann")
    store.set_user(people, [mine[0].face_id], "ann")
    erased = store.erase_faces(None, external_image_id="ann.jpg")
    assert sorted((e.collection, e.face.face_id) for e in erased) == sorted(
        [("people", mine[0].face_id), ("people", mine[1].face_id), ("others", theirs[0].face_id)]
    )
    assert [f.face_id for f in store.list_faces(people, 0, 10)] == [kept[0].face_id]
    _, changes = store.changes_since(people, 0)
    assert changes[-2:] == [(mine[0].row_id, None), (mine[1].row_id, None)]  # indexes follow

    store.create_user(people, "bob")
    store.set_user(people, [kept[0].face_id], "bob")
    assert [e.face.face_id for e in store.erase_faces(people, user_id="bob")] == [kept[0].face_id]
    assert not store.user_exists(people, "bob")

    again = store.add_faces(people, _faces(2, seed=3), "cy.jpg", "sha-d", "dlib-v1")
    store.touch_faces(people, [again[0].face_id], 10.0)
    store.touch_faces(people, [again[1].face_id], 10_000_000_000.0)
    assert store.unused_faces(people, 1000.0, 10) == [again[0].face_id]
    assert [e.face.face_id for e in store.erase_faces(people, face_ids=[again[0].face_id])] == [again[0].face_id]
    with pytest.raises(ValueError):
        store.erase_faces(people)
    assert store.compact() is True


def test_a_transaction_joins_writes(store: Store) -> None:
    with store.transaction():
        people = store.create_collection("people", "arn:p", "dlib-v1")
        store.create_user(people, "ann")
    assert store.user_exists(people, "ann")


# --- stored-video jobs (issue 14) ----------------------------------------------------------------


def _job(job_id: str, token: str | None = None, sha: str = "s1") -> NewJob:
    return NewJob(job_id, "FaceSearch", '{"Video": {}}', sha, client_token=token, job_tag="tag")


def test_jobs_quota_token_and_claims(store: Store) -> None:
    first = store.create_job(_job("j1", token="t"), now=100.0, max_in_progress=2, token_since=0.0)
    assert first is not None and first.status == "IN_PROGRESS" and first.owner is None and first.attempts == 0
    again = store.create_job(_job("j9", token="t", sha="other"), now=101.0, max_in_progress=2, token_since=50.0)
    assert again is not None and again.job_id == "j1" and again.request_sha256 == "s1"  # the caller compares
    # a token older than the window is a new job
    assert store.create_job(_job("j2", token="t"), now=102.0, max_in_progress=2, token_since=100.5) is not None
    assert store.create_job(_job("j3"), now=103.0, max_in_progress=2, token_since=0.0) is None  # quota
    assert store.job("j3") is None and store.job("j2") is not None
    assert store.claim_job("w0", now=103.5, job_id="nope") is None
    claimed = store.claim_job("w1", now=104.0, job_id="j1")
    assert claimed is not None and claimed.job_id == "j1" and claimed.owner == "w1" and claimed.attempts == 1
    assert claimed.started_at == 104.0 and claimed.heartbeat_at == 104.0
    second = store.claim_job("w2", now=105.0)
    assert second is not None and second.job_id == "j2"
    assert store.claim_job("w3", now=106.0) is None
    assert store.heartbeat_job("j1", "w1", 110.0) and not store.heartbeat_job("j1", "w2", 110.0)
    assert [j.job_id for j in store.running_jobs()] == ["j1", "j2"]
    store.set_job_metadata("j1", "w1", '{"Codec": "h264"}')
    assert store.requeue_job("j1", "w1") and not store.requeue_job("j1", "w1")
    requeued = store.job("j1")
    assert requeued is not None and requeued.owner is None and requeued.video_metadata is None
    reclaimed = store.claim_job("w4", now=120.0)
    assert reclaimed is not None and reclaimed.job_id == "j1" and reclaimed.attempts == 2
    assert reclaimed.started_at == 104.0  # started when first claimed
    assert store.requeue_job("j1", "w4", stopped=True)  # a clean stop gives the attempt back
    again = store.claim_job("w5", now=121.0, job_id="j1")
    assert again is not None and again.attempts == 2


def test_job_results_page_in_either_order_and_expire(store: Store) -> None:
    store.create_job(_job("j1"), now=1.0, max_in_progress=5, token_since=0.0)
    store.claim_job("w", now=2.0)
    results = [JobResult(200, 0, "a"), JobResult(0, 1, "b"), JobResult(200, 1, "c"), JobResult(0, 0, "d")]
    assert not store.finish_job("j1", "someone-else", "SUCCEEDED", None, results, now=3.0, expires_at=10.0)
    assert store.finish_job("j1", "w", "SUCCEEDED", None, results, now=3.0, expires_at=10.0)
    assert not store.finish_job("j1", "w", "FAILED", "late", [], now=4.0, expires_at=10.0)  # finished once
    done = store.job("j1")
    assert done is not None and done.status == "SUCCEEDED" and done.finished_at == 3.0 and done.owner is None
    assert store.job_results("j1", by_index=False, offset=0, limit=10) == ["d", "b", "a", "c"]
    assert store.job_results("j1", by_index=True, offset=0, limit=10) == ["d", "a", "b", "c"]
    assert store.job_results("j1", by_index=False, offset=1, limit=2) == ["b", "a"]
    assert store.running_jobs() == [] and store.claim_job("w", now=5.0) is None
    # a queued job a dead worker never started can be failed by anyone (owner None)
    store.create_job(_job("j2"), now=6.0, max_in_progress=5, token_since=0.0)
    assert store.finish_job("j2", None, "FAILED", "interrupted", [], now=7.0, expires_at=20.0)
    assert store.expire_jobs(now=9.0) == 0
    assert store.expire_jobs(now=11.0) == 1
    assert store.job("j1") is None and store.job_results("j1", False, 0, 10) == []
    assert store.job("j2") is not None
