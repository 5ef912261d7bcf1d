"""IndexFaces: detect, filter and store the faces of an image."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from faceindex.imaging.decode import DecodedImage, ImageInput
from faceindex.service import validation
from faceindex.service.collections import open_collection
from faceindex.service.container import Services
from faceindex.service.faces import check_attributes
from faceindex.service.quality import check_filter, rejection_reasons
from faceindex.service.search import FaceMatchFace, face_view
from faceindex.store.records import NewFace
from faceindex.types import AnalyzedFace, FaceDetail


@dataclass(frozen=True)
class FaceRecord:
    Face: FaceMatchFace
    FaceDetail: FaceDetail


@dataclass(frozen=True)
class UnindexedFace:
    Reasons: tuple[str, ...]
    FaceDetail: FaceDetail


@dataclass(frozen=True)
class IndexFacesResult:
    FaceRecords: tuple[FaceRecord, ...]
    FaceModelVersion: str
    UnindexedFaces: tuple[UnindexedFace, ...]
    OrientationCorrection: str | None = None  # Rekognition no longer returns it; EXIF is applied


def image_sha256(image: ImageInput | DecodedImage) -> str | None:
    """The content hash that lets a re-run skip an image; None for arrays (no file content)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return hashlib.sha256(image).hexdigest()
    return None


def index_faces(
    services: Services,
    collection_id: str,
    image: ImageInput | DecodedImage,
    external_image_id: str | None = None,
    max_faces: int | None = None,
    quality_filter: str | None = None,
    detection_attributes: list[str] | None = None,
    sha256: str | None = None,
) -> IndexFacesResult:
    collection = open_collection(services, collection_id)
    external = validation.external_image_id(external_image_id)
    limit = int(validation.in_range("MaxFaces", max_faces, 1, 100)) if max_faces is not None else 100
    quality = check_filter(quality_filter)
    attributes = check_attributes(detection_attributes or ["DEFAULT"])
    decoded = services.engine.decode(image)
    faces = services.engine.analyze(decoded, attributes)  # largest first
    unindexed: list[UnindexedFace] = []
    accepted: list[AnalyzedFace] = []
    for face in faces:
        reasons = rejection_reasons(face.detail, decoded.width, decoded.height, quality)
        if reasons:
            unindexed.append(UnindexedFace(tuple(reasons), face.detail))
        elif len(accepted) >= limit:
            unindexed.append(UnindexedFace(("EXCEEDS_MAX_FACES",), face.detail))
        else:
            accepted.append(face)
    new = [
        NewFace(f.detail.BoundingBox, f.detail.Confidence, f.descriptor) for f in accepted if f.descriptor is not None
    ]
    records = services.store.add_faces(
        collection, new, external, sha256 or image_sha256(image), services.face_model_version
    )
    return IndexFacesResult(
        FaceRecords=tuple(FaceRecord(face_view(r), f.detail) for r, f in zip(records, accepted, strict=True)),
        FaceModelVersion=services.face_model_version,
        UnindexedFaces=tuple(unindexed),
    )
