"""Erasure that really erases, and retention.

`erase` removes a person's faces (by ExternalImageId or UserId, in one collection or all; a user erased
is deleted too) even when they are associated with a user, which DeleteFaces refuses. Every deletion
(DeleteFaces, DeleteCollection, erase, retention) then `scrub`s: the collection's index snapshot is
rewritten (usearch's tombstones zeroed, store.index.hnsw) and the database's WAL checkpointed and
truncated; the store overwrites deleted rows (SQLite secure_delete). The audit entry the service door
writes for the call is its receipt: which FaceIds went, when, on whose request.

Retention (BIPA: delete when the purpose is met or within 3 years of the last interaction): a collection
policy may set `retention_days`; faces neither indexed nor matched for that long are erased by
`run_retention`, which the server runs every hour and `faceindex retention run` runs by hand.
"""

from __future__ import annotations

import time
from typing import Any

from faceindex.errors import InvalidParameter, ResourceNotFound
from faceindex.service import validation
from faceindex.service.collections import open_collection
from faceindex.service.container import Services
from faceindex.store.records import CollectionRecord, ErasedFace

RETENTION_BATCH = 1000  # faces erased per transaction by a retention run
DAY_S = 86400.0


def erase(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    """{"CollectionId"?, "ExternalImageId" | "UserId"} -> {"ErasedFaces": [...], "ErasedFaceCount": n}."""
    external_image_id, user_id = params.get("ExternalImageId"), params.get("UserId")
    if (external_image_id is None) == (user_id is None):
        raise InvalidParameter("Erase needs exactly one of ExternalImageId and UserId.")
    collection_id = params.get("CollectionId")
    collection = None if collection_id is None else open_collection(services, collection_id, check_version=False)
    erased = services.store.erase_faces(
        collection,
        external_image_id=validation.external_image_id(external_image_id),
        user_id=None if user_id is None else validation.user_id(user_id),
    )
    return _receipt(erased)


def run_retention(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    """Erase, in every collection with a retention period, the faces unused for longer than it."""
    erased: list[ErasedFace] = []
    for collection, before in _retained(services, float(params.get("Now") or time.time())):
        while face_ids := services.store.unused_faces(collection, before, RETENTION_BATCH):
            erased += services.store.erase_faces(collection, face_ids=face_ids)
    return _receipt(erased)


def anything_past_retention(services: Services, now: float) -> bool:
    return any(services.store.unused_faces(collection, before, 1) for collection, before in _retained(services, now))


def _retained(services: Services, now: float) -> list[tuple[CollectionRecord, float]]:
    """(collection, the last-use time before which its faces go) for collections with a retention period."""
    found = []
    for name, policy in sorted(services.store.collection_policies().items()):
        if policy.retention_days is None:
            continue
        try:
            found.append((services.store.collection(name), now - policy.retention_days * DAY_S))
        except ResourceNotFound:  # a policy for a collection not (or no longer) there
            continue
    return found


def scrub(services: Services, collections: set[str] | None = None) -> bool:
    """After a deletion has committed: rewrite the touched collections' snapshots and truncate the WAL.
    Returns whether the WAL was truncated (a long reader can delay it; the server's housekeeping retries)."""
    for name in sorted(collections or ()):
        try:
            record = services.store.collection(name)
        except ResourceNotFound:  # deleted with the collection: its snapshot went with it
            continue
        services.indexes.expunge(record)
    return services.store.compact()


def _receipt(erased: list[ErasedFace]) -> dict[str, Any]:
    return {
        "ErasedFaces": [
            {
                "CollectionId": e.collection,
                "FaceId": e.face.face_id,
                **({"ExternalImageId": e.face.external_image_id} if e.face.external_image_id else {}),
                **({"UserId": e.face.user_id} if e.face.user_id else {}),
            }
            for e in erased
        ],
        "ErasedFaceCount": len(erased),
    }
