"""Rows as the store returns them."""

from __future__ import annotations

from dataclasses import dataclass, field

from faceindex.types import BoundingBox, Descriptor


@dataclass(frozen=True)
class CollectionRecord:
    row_id: int
    name: str
    arn: str
    face_model_version: str
    created_at: float


@dataclass(frozen=True)
class FaceRecord:
    row_id: int
    face_id: str
    image_id: str
    external_image_id: str | None
    box: BoundingBox
    confidence: float
    model_version: str
    user_id: str | None
    descriptor: Descriptor | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class NewFace:
    """A face to insert; the store assigns row id and FaceId."""

    box: BoundingBox
    confidence: float
    descriptor: Descriptor = field(repr=False)


@dataclass(frozen=True)
class AccessKeyRecord:
    access_key_id: str
    secret_sealed: bytes
    name: str
    operations: tuple[str, ...]  # ("*",) for every operation; () when only `classes` grant
    created_at: float
    revoked_at: float | None = None
    classes: tuple[str, ...] = ()  # permission classes: detect, compare, identify, manage
    collections: tuple[str, ...] | None = None  # the collections it may touch; None: every one
    min_similarity: float | None = None  # its floor under FaceMatchThreshold / UserMatchThreshold
    purpose: str | None = None  # stated once, recorded with each of its 1:N searches


@dataclass(frozen=True)
class CollectionPolicy:
    """A collection's safeguards, set by `faceindex collection policy`."""

    min_similarity: float | None = None  # 1:N thresholds below it are raised to it
    require_purpose: bool = False  # every 1:N search must state a purpose
    retention_days: float | None = None  # faces not indexed or matched for this long are erased


@dataclass(frozen=True)
class AuditColumns:
    """The searchable part of an audit entry (its body holds everything)."""

    time: float
    principal: str
    operation: str
    collection: str | None


@dataclass(frozen=True)
class AuditRow:
    seq: int
    body: str  # canonical JSON, exactly as sealed
    chain: bytes
    signature: bytes


@dataclass(frozen=True)
class ErasedFace:
    collection: str
    face: FaceRecord


@dataclass(frozen=True)
class RecordedRequest:
    """A request that carried a ClientRequestToken (the columns of request_tokens, in order)."""

    operation: str
    token: str
    collection: str
    user_id: str | None
    request_sha256: str  # of its other members


@dataclass(frozen=True)
class NewJob:
    """A stored-video job as Start* creates it (status IN_PROGRESS, no owner yet)."""

    job_id: str
    api: str  # "FaceDetection" | "FaceSearch"
    request: str  # the Start request's members as JSON (no token), what a worker runs
    request_sha256: str  # of `request`: the same ClientRequestToken with other members is refused
    client_token: str | None = None
    job_tag: str | None = None


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    api: str
    status: str  # IN_PROGRESS | SUCCEEDED | FAILED
    request: str
    request_sha256: str
    created_at: float
    client_token: str | None = None
    job_tag: str | None = None
    status_message: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    owner: str | None = None  # the worker running it ("host:pid:n"); None while queued
    attempts: int = 0  # times a worker has claimed it
    video_metadata: str | None = None  # Rekognition's VideoMetadata as JSON, once the video is open
    expires_at: float | None = None  # the job and its results are deleted after this


@dataclass(frozen=True)
class JobResult:
    """One Faces / Persons entry of a job's answer: `timestamp` and `index` order the pages."""

    timestamp: int
    index: int  # Person.Index (FaceSearch) or the face's place in its frame (FaceDetection)
    item: str  # the entry as JSON
