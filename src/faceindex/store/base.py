"""The storage protocols. SQL rows are the source of truth (`Store`); a VectorIndex is a rebuildable cache.

A VectorIndex maps integer keys (the faces' row ids) to 128-D descriptors and answers nearest-
neighbour queries in squared Euclidean distance. Implementations: `index.exact` (NumPy, exact)
and `index.hnsw` (usearch HNSW over int8, re-ranked exactly). `tests/contract/` runs one suite against each of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from faceindex.store.records import (
    AccessKeyRecord,
    AuditColumns,
    AuditRow,
    CollectionPolicy,
    CollectionRecord,
    ErasedFace,
    FaceRecord,
    JobRecord,
    JobResult,
    NewFace,
    NewJob,
    RecordedRequest,
)

Keys = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
ExactVectors = Callable[[Keys], tuple[Keys, Vectors]]  # keys -> (keys found, their float32 vectors)


@dataclass(frozen=True)
class Neighbours:
    keys: Keys  # nearest first
    distances: npt.NDArray[np.float32]  # Euclidean (not squared)


class VectorIndex(Protocol):
    kind: str

    def add(self, keys: Keys, vectors: Vectors) -> None:
        """Add or replace the vectors of `keys`."""

    def remove(self, keys: Keys) -> None:
        """Remove `keys`; unknown keys are ignored."""

    def search(self, query: Vectors, count: int) -> Neighbours:
        """The `count` nearest stored vectors to one query vector."""

    def __len__(self) -> int: ...

    def __contains__(self, key: int) -> bool: ...

    def agrees_with(self, truth: ExactVectors, count: int) -> bool:
        """Whether `count` of its keys, spread over it, are in `truth` with the vectors it holds for
        them (as it holds them): the spot check of a snapshot just loaded."""

    def save(self, path: Path) -> None:
        """A snapshot file (0600) whose checksum `load` verifies before parsing it."""

    def load(self, path: Path) -> None:
        """Replace the contents with a snapshot's; a damaged one raises ValueError."""


class CollectionRows(Protocol):
    """Collections by name; deleting one takes its faces, users, images, tags and remembered responses."""

    def create_collection(self, name: str, arn: str, face_model_version: str) -> CollectionRecord: ...
    def collection(self, name: str) -> CollectionRecord: ...
    def delete_collection(self, name: str) -> None: ...
    def list_collections(self, after: str, limit: int) -> list[CollectionRecord]: ...
    def count_faces(self, collection: CollectionRecord) -> int: ...
    def face_counts(self) -> list[tuple[str, int]]: ...
    def count_users(self, collection: CollectionRecord) -> int: ...


class FaceRows(Protocol):
    """Faces with their descriptors (never returned unless asked for), their last use and their erasure."""

    def add_faces(
        self,
        collection: CollectionRecord,
        faces: list[NewFace],
        external_image_id: str | None,
        image_sha256: str | None,
        model_version: str,
    ) -> list[FaceRecord]: ...
    def image_indexed(self, collection: CollectionRecord, image_sha256: str) -> bool: ...
    def list_faces(
        self,
        collection: CollectionRecord,
        after_row: int,
        limit: int,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> list[FaceRecord]: ...
    def faces_by_id(
        self, collection: CollectionRecord, face_ids: list[str], descriptors: bool = False
    ) -> list[FaceRecord]: ...
    def faces_by_row(self, row_ids: list[int]) -> dict[int, FaceRecord]: ...
    def descriptors_by_row(self, row_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def descriptors(self, collection: CollectionRecord) -> tuple[int, np.ndarray, np.ndarray]: ...
    def delete_faces(self, collection: CollectionRecord, face_ids: list[str]) -> list[FaceRecord]: ...
    def touch_faces(self, collection: CollectionRecord, face_ids: list[str], when: float) -> None: ...
    def unused_faces(self, collection: CollectionRecord, before: float, limit: int) -> list[str]: ...
    def erase_faces(
        self,
        collection: CollectionRecord | None,
        external_image_id: str | None = None,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> list[ErasedFace]: ...


class ChangeFeed(Protocol):
    """The append-only log of face additions and removals that vector indexes follow."""

    def changes_since(
        self, collection: CollectionRecord, seq: int
    ) -> tuple[int, list[tuple[int, np.ndarray | None]]]: ...
    def last_change(self, collection: CollectionRecord) -> int: ...


class UserRows(Protocol):
    """Users of a collection and the faces associated with them."""

    def create_user(self, collection: CollectionRecord, user_id: str) -> None: ...
    def user_exists(self, collection: CollectionRecord, user_id: str) -> bool: ...
    def delete_user(self, collection: CollectionRecord, user_id: str) -> None: ...
    def list_users(self, collection: CollectionRecord, after: str, limit: int) -> list[str]: ...
    def set_user(self, collection: CollectionRecord, face_ids: list[str], user_id: str | None) -> None: ...
    def user_faces(self, collection: CollectionRecord, user_id: str) -> list[FaceRecord]: ...


class TokenRows(Protocol):
    """Responses remembered for ClientRequestTokens."""

    def recorded_response(self, operation: str, token: str, since: float) -> tuple[str, str] | None: ...
    def record_response(self, request: RecordedRequest, response: str, forget_before: float, now: float) -> None: ...


class TagRows(Protocol):
    """Tags of a resource ARN."""

    def tag(self, arn: str, tags: dict[str, str]) -> None: ...
    def untag(self, arn: str, keys: list[str]) -> None: ...
    def tags(self, arn: str) -> dict[str, str]: ...


class CredentialRows(Protocol):
    """Access keys and other sealed secrets (the audit signing key)."""

    def add_access_key(self, key: AccessKeyRecord) -> None: ...
    def access_key(self, access_key_id: str) -> AccessKeyRecord | None: ...
    def access_keys(self) -> list[AccessKeyRecord]: ...
    def revoke_access_key(self, access_key_id: str, when: float) -> bool: ...
    def sealed_secret(self, name: str) -> bytes | None: ...
    def keep_sealed_secret(self, name: str, sealed: bytes) -> bytes: ...


class PolicyRows(Protocol):
    """Collection policies (floors, required purposes, retention), by collection name."""

    def collection_policy(self, name: str) -> CollectionPolicy: ...
    def set_collection_policy(self, name: str, policy: CollectionPolicy) -> None: ...
    def collection_policies(self) -> dict[str, CollectionPolicy]: ...


class AuditRows(Protocol):
    """The audit log's entries (appended in the writer's transaction) and its signed heads."""

    def append_audit(self, columns: AuditColumns, seal: Callable[[int, bytes], AuditRow]) -> AuditRow: ...
    def audit_rows(
        self,
        after_seq: int,
        limit: int,
        since: float | None = None,
        until: float | None = None,
        principal: str | None = None,
        collection: str | None = None,
        operation: str | None = None,
    ) -> list[AuditRow]: ...
    def audit_size(self) -> int: ...
    def audit_heads(self) -> list[tuple[int, str, str]]: ...
    def add_audit_head(self, size: int, head: str, frontier: str) -> None: ...


class JobRows(Protocol):
    """Stored-video jobs (issue 14) and their results, one Faces / Persons entry a row."""

    def create_job(self, job: NewJob, now: float, max_in_progress: int, token_since: float) -> JobRecord | None:
        """Atomically: the job created since `token_since` with the same api and ClientRequestToken, if
        any (the caller compares its request_sha256); else None when `max_in_progress` jobs are
        IN_PROGRESS; else the new job, IN_PROGRESS and queued."""
        ...

    def job(self, job_id: str) -> JobRecord | None: ...
    def claim_job(self, owner: str, now: float, job_id: str | None = None) -> JobRecord | None:
        """The oldest queued job (or this one, if queued), now owned by `owner` (started, heartbeat now,
        one more attempt)."""
        ...

    def heartbeat_job(self, job_id: str, owner: str, now: float) -> bool:
        """False when `owner` no longer holds the job."""
        ...

    def running_jobs(self) -> list[JobRecord]:
        """IN_PROGRESS jobs a worker has claimed."""
        ...

    def requeue_job(self, job_id: str, owner: str, stopped: bool = False) -> bool:
        """Queue again a job `owner` held (its worker died; or `stopped` cleanly: that claim is no attempt);
        False if it no longer held it."""
        ...

    def set_job_metadata(self, job_id: str, owner: str, metadata: str) -> None: ...
    def finish_job(
        self,
        job_id: str,
        owner: str | None,
        status: str,
        message: str | None,
        results: list[JobResult],
        now: float,
        expires_at: float,
    ) -> bool:
        """SUCCEEDED or FAILED with its results, in one transaction, if `owner` holds it (None: whoever
        does, for failing a job whose worker died); False otherwise."""
        ...

    def job_results(self, job_id: str, by_index: bool, offset: int, limit: int) -> list[str]:
        """Result items in Timestamp order (or Index, then Timestamp), `limit` from `offset`."""
        ...

    def expire_jobs(self, now: float) -> int:
        """Delete finished jobs (and their results) past their expiry; how many."""
        ...


class Store(
    CollectionRows,
    FaceRows,
    ChangeFeed,
    UserRows,
    TokenRows,
    TagRows,
    CredentialRows,
    PolicyRows,
    AuditRows,
    JobRows,
    Protocol,
):
    """The source of truth, every role in one: `store.registry` builds one; SqliteStore and MemoryStore
    implement it, and tests/contract/test_store.py holds both to the same behaviour. Code that needs one
    role may ask for that protocol alone."""

    def close(self) -> None: ...
    def room_problem(self, min_free_bytes: int) -> str | None: ...
    def transaction(self, eager: bool = False) -> contextlib.AbstractContextManager[None]: ...
    def compact(self) -> bool: ...
