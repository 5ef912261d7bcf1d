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
    operations: tuple[str, ...]  # ("*",) for every operation
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """A request that carried a ClientRequestToken (the columns of request_tokens, in order)."""

    operation: str
    token: str
    collection: str
    user_id: str | None
    request_sha256: str  # of its other members
