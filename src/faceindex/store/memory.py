"""The in-memory store: the `Store` protocol in dictionaries, for fast service tests and throwaway use.

It keeps the SQLite store's semantics (the contract suite in tests/contract/test_store.py runs both):
row ids and change numbers only grow, deleting a collection takes its faces, users, images, tags and
remembered responses with it, a face tied to a user is not deleted, an image counts as indexed while one
of its faces is stored. Nothing is written to disk; one lock makes each call atomic.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from faceindex.errors import Conflict, ResourceAlreadyExists, ResourceNotFound
from faceindex.store.memory_governance import GovernanceRows, _Governance
from faceindex.store.memory_jobs import JobRows
from faceindex.store.records import (
    AccessKeyRecord,
    CollectionRecord,
    FaceRecord,
    JobRecord,
    JobResult,
    NewFace,
    RecordedRequest,
)


@dataclass
class _Collection:
    record: CollectionRecord
    faces: dict[int, FaceRecord] = field(default_factory=dict)  # row id -> face, with its descriptor
    users: dict[str, float] = field(default_factory=dict)  # user id -> created at
    images: dict[str, str] = field(default_factory=dict)  # sha256 -> image id
    changes: list[tuple[int, int, bool]] = field(default_factory=list)  # (seq, row id, added)


class MemoryStore(GovernanceRows, JobRows):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._collections: dict[str, _Collection] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._tokens: dict[tuple[str, str], tuple[RecordedRequest, str, float]] = {}
        self._keys: dict[str, AccessKeyRecord] = {}
        self._next_row = self._next_seq = self._next_collection = 1
        self._governance = _Governance()
        self._jobs: dict[str, JobRecord] = {}
        self._job_results: dict[str, list[JobResult]] = {}

    def close(self) -> None:
        """Nothing to release; the data lives as long as the object."""

    def room_problem(self, min_free_bytes: int) -> str | None:
        return None

    # --- collections ---------------------------------------------------------------------

    def create_collection(self, name: str, arn: str, face_model_version: str) -> CollectionRecord:
        with self._lock:
            if name in self._collections:
                raise ResourceAlreadyExists(f"The collection id: {name} already exists")
            record = CollectionRecord(self._next_collection, name, arn, face_model_version, time.time())
            self._next_collection += 1
            self._collections[name] = _Collection(record)
            return record

    def collection(self, name: str) -> CollectionRecord:
        return self._get(name).record

    def _get(self, name: str) -> _Collection:
        with self._lock:
            found = self._collections.get(name)
        if found is None:
            raise ResourceNotFound(f"The collection id: {name} does not exist")
        return found

    def _of(self, collection: CollectionRecord) -> _Collection:
        found = self._get(collection.name)
        if found.record.row_id != collection.row_id:  # deleted and created again under the same name
            raise ResourceNotFound(f"The collection id: {collection.name} does not exist")
        return found

    def delete_collection(self, name: str) -> None:
        with self._lock:
            found = self._get(name)
            del self._collections[name]
            self._tags.pop(found.record.arn, None)
            for key in [key for key, (request, _, _) in self._tokens.items() if request.collection == name]:
                del self._tokens[key]

    def list_collections(self, after: str, limit: int) -> list[CollectionRecord]:
        with self._lock:
            names = sorted(name for name in self._collections if name > after)[:limit]
            return [self._collections[name].record for name in names]

    def count_faces(self, collection: CollectionRecord) -> int:
        with self._lock:
            return len(self._of(collection).faces)

    def face_counts(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(name, len(self._collections[name].faces)) for name in sorted(self._collections)]

    def count_users(self, collection: CollectionRecord) -> int:
        with self._lock:
            return len(self._of(collection).users)

    # --- faces ---------------------------------------------------------------------------

    def add_faces(
        self,
        collection: CollectionRecord,
        faces: list[NewFace],
        external_image_id: str | None,
        image_sha256: str | None,
        model_version: str,
    ) -> list[FaceRecord]:
        with self._lock:
            stored = self._of(collection)
            image_id = str(uuid.uuid4())
            records = []
            for face in faces:
                row_id = self._next_row
                self._next_row += 1
                descriptor = np.asarray(face.descriptor, np.float32).copy()
                record = FaceRecord(
                    row_id,
                    str(uuid.uuid4()),
                    image_id,
                    external_image_id,
                    face.box,
                    face.confidence,
                    model_version,
                    None,
                    descriptor,
                )
                stored.faces[row_id] = record
                self._governance.used[row_id] = time.time()
                self._change(stored, row_id, added=True)
                records.append(record)
            if image_sha256 is not None and records:
                stored.images[image_sha256] = image_id
            return records

    def _change(self, stored: _Collection, row_id: int, added: bool) -> None:
        stored.changes.append((self._next_seq, row_id, added))
        self._next_seq += 1

    def image_indexed(self, collection: CollectionRecord, image_sha256: str) -> bool:
        with self._lock:
            stored = self._of(collection)
            image_id = stored.images.get(image_sha256)
            return image_id is not None and any(face.image_id == image_id for face in stored.faces.values())

    def list_faces(
        self,
        collection: CollectionRecord,
        after_row: int,
        limit: int,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> list[FaceRecord]:
        with self._lock:
            wanted = None if face_ids is None else set(face_ids)
            rows = [
                _without_descriptor(face)
                for row_id, face in sorted(self._of(collection).faces.items())
                if row_id > after_row
                and (user_id is None or face.user_id == user_id)
                and (wanted is None or face.face_id in wanted)
            ]
            return rows[:limit]

    def faces_by_id(
        self, collection: CollectionRecord, face_ids: list[str], descriptors: bool = False
    ) -> list[FaceRecord]:
        with self._lock:
            wanted = set(face_ids)
            found = [face for face in self._of(collection).faces.values() if face.face_id in wanted]
            return found if descriptors else [_without_descriptor(face) for face in found]

    def faces_by_row(self, row_ids: list[int]) -> dict[int, FaceRecord]:
        with self._lock:
            wanted = set(row_ids)
            return {
                row_id: _without_descriptor(face)
                for stored in self._collections.values()
                for row_id, face in stored.faces.items()
                if row_id in wanted
            }

    def descriptors_by_row(self, row_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            faces = {row_id: face for stored in self._collections.values() for row_id, face in stored.faces.items()}
            found = [int(row_id) for row_id in row_ids if int(row_id) in faces]
            return _row_vectors([(row_id, faces[row_id]) for row_id in found])

    def descriptors(self, collection: CollectionRecord) -> tuple[int, np.ndarray, np.ndarray]:
        with self._lock:
            stored = self._of(collection)
            return (self._last(stored), *_row_vectors(sorted(stored.faces.items())))

    def changes_since(self, collection: CollectionRecord, seq: int) -> tuple[int, list[tuple[int, np.ndarray | None]]]:
        with self._lock:
            stored = self._of(collection)
            later = [change for change in stored.changes if change[0] > seq]
            out: list[tuple[int, np.ndarray | None]] = []
            for _, row_id, added in later:
                face = stored.faces.get(row_id)
                if added and face is None:  # added, then deleted later in the log: nothing to add
                    continue
                out.append((row_id, face.descriptor if added and face is not None else None))
            return (later[-1][0] if later else seq), out

    def last_change(self, collection: CollectionRecord) -> int:
        with self._lock:
            return self._last(self._of(collection))

    @staticmethod
    def _last(stored: _Collection) -> int:
        return stored.changes[-1][0] if stored.changes else 0

    def delete_faces(self, collection: CollectionRecord, face_ids: list[str]) -> list[FaceRecord]:
        with self._lock:
            stored = self._of(collection)
            wanted = set(face_ids)
            deleted = [face for face in stored.faces.values() if face.face_id in wanted and face.user_id is None]
            for face in deleted:
                del stored.faces[face.row_id]
                self._change(stored, face.row_id, added=False)
            return [_without_descriptor(face) for face in deleted]

    # --- users ---------------------------------------------------------------------------

    def create_user(self, collection: CollectionRecord, user_id: str) -> None:
        with self._lock:
            stored = self._of(collection)
            if user_id in stored.users:
                raise Conflict(f"The user id: {user_id} already exists in the collection")
            stored.users[user_id] = time.time()

    def user_exists(self, collection: CollectionRecord, user_id: str) -> bool:
        with self._lock:
            return user_id in self._of(collection).users

    def delete_user(self, collection: CollectionRecord, user_id: str) -> None:
        with self._lock:
            stored = self._of(collection)
            if stored.users.pop(user_id, None) is None:
                raise ResourceNotFound(f"The user id: {user_id} does not exist")
            for key in [
                key
                for key, (request, _, _) in self._tokens.items()
                if request.collection == collection.name and request.user_id == user_id
            ]:
                del self._tokens[key]
            for row_id, face in list(stored.faces.items()):
                if face.user_id == user_id:
                    stored.faces[row_id] = dataclasses.replace(face, user_id=None)

    def list_users(self, collection: CollectionRecord, after: str, limit: int) -> list[str]:
        with self._lock:
            return sorted(user for user in self._of(collection).users if user > after)[:limit]

    def set_user(self, collection: CollectionRecord, face_ids: list[str], user_id: str | None) -> None:
        with self._lock:
            stored = self._of(collection)
            wanted = set(face_ids)
            for row_id, face in list(stored.faces.items()):
                if face.face_id in wanted:
                    stored.faces[row_id] = dataclasses.replace(face, user_id=user_id)

    def user_faces(self, collection: CollectionRecord, user_id: str) -> list[FaceRecord]:
        with self._lock:
            return [face for _, face in sorted(self._of(collection).faces.items()) if face.user_id == user_id]

    # --- request tokens --------------------------------------------------------------------

    def recorded_response(self, operation: str, token: str, since: float) -> tuple[str, str] | None:
        with self._lock:
            found = self._tokens.get((operation, token))
            if found is None or found[2] < since:
                return None
            return found[0].request_sha256, found[1]

    def record_response(self, request: RecordedRequest, response: str, forget_before: float, now: float) -> None:
        with self._lock:
            for key in [key for key, (_, _, at) in self._tokens.items() if at < forget_before]:
                del self._tokens[key]
            self._tokens[(request.operation, request.token)] = (request, response, now)

    # --- tags ----------------------------------------------------------------------------

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self._lock:
            self._tags.setdefault(arn, {}).update(tags)

    def untag(self, arn: str, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._tags.get(arn, {}).pop(key, None)

    def tags(self, arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._tags.get(arn, {}))

    # --- access keys ---------------------------------------------------------------------

    def add_access_key(self, key: AccessKeyRecord) -> None:
        with self._lock:
            if key.access_key_id in self._keys:
                raise Conflict(f"access key {key.access_key_id} exists")
            self._keys[key.access_key_id] = key

    def access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        with self._lock:
            return self._keys.get(access_key_id)

    def access_keys(self) -> list[AccessKeyRecord]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda key: key.created_at)

    def revoke_access_key(self, access_key_id: str, when: float) -> bool:
        with self._lock:
            key = self._keys.get(access_key_id)
            if key is None or key.revoked_at is not None:
                return False
            self._keys[access_key_id] = dataclasses.replace(key, revoked_at=when)
            return True


def _without_descriptor(face: FaceRecord) -> FaceRecord:
    return dataclasses.replace(face, descriptor=None)


def _row_vectors(items: list[tuple[int, FaceRecord]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array([row_id for row_id, _ in items], np.int64)
    vectors = np.array([face.descriptor for _, face in items], np.float32).reshape(len(items), 128)
    return keys, vectors
