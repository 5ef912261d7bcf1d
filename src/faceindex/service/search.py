"""SearchFaces, SearchFacesByImage and ListFaces / DeleteFaces."""

from __future__ import annotations

from dataclasses import dataclass

from faceindex.analysis.calibration import calibration, significant
from faceindex.errors import InvalidParameter, ResourceNotFound
from faceindex.imaging.decode import DecodedImage, ImageInput
from faceindex.service import validation
from faceindex.service.collections import open_collection
from faceindex.service.container import Services
from faceindex.service.quality import check_filter, rejection_reasons
from faceindex.store.paging import decode_token, encode_token
from faceindex.store.records import CollectionRecord, FaceRecord
from faceindex.types import AnalyzedFace, BoundingBox, Descriptor


@dataclass(frozen=True)
class FaceMatchFace:
    """Rekognition's Face: a stored face (never its descriptor)."""

    FaceId: str
    BoundingBox: BoundingBox
    ImageId: str
    Confidence: float
    IndexFacesModelVersion: str
    ExternalImageId: str | None = None
    UserId: str | None = None


@dataclass(frozen=True)
class FaceMatch:
    Similarity: float
    Face: FaceMatchFace
    # faceindex's: the chance that a search of this collection by someone not in it finds a face this close
    # (the false-positive identification rate at this score and size); the Rekognition endpoint sends it
    # in a header, the wire shape stays botocore's
    FalseMatchRate: float | None = None


@dataclass(frozen=True)
class SearchFacesResult:
    SearchedFaceId: str
    FaceMatches: tuple[FaceMatch, ...]
    FaceModelVersion: str


@dataclass(frozen=True)
class SearchFacesByImageResult:
    SearchedFaceBoundingBox: BoundingBox
    SearchedFaceConfidence: float
    FaceMatches: tuple[FaceMatch, ...]
    FaceModelVersion: str


@dataclass(frozen=True)
class ListFacesResult:
    Faces: tuple[FaceMatchFace, ...]
    FaceModelVersion: str
    NextToken: str | None = None


@dataclass(frozen=True)
class UnsuccessfulFaceDeletion:
    FaceId: str
    Reasons: tuple[str, ...]
    UserId: str | None = None


@dataclass(frozen=True)
class DeleteFacesResult:
    DeletedFaces: tuple[str, ...]
    UnsuccessfulFaceDeletions: tuple[UnsuccessfulFaceDeletion, ...]


def face_view(record: FaceRecord) -> FaceMatchFace:
    return FaceMatchFace(
        FaceId=record.face_id,
        BoundingBox=record.box,
        ImageId=record.image_id,
        Confidence=record.confidence,
        IndexFacesModelVersion=record.model_version,
        ExternalImageId=record.external_image_id,
        UserId=record.user_id,
    )


def nearest_faces(
    services: Services,
    collection: CollectionRecord,
    query: Descriptor,
    max_faces: int,
    threshold: float,
    exclude_row: int | None = None,
) -> list[FaceMatch]:
    """Stored faces with similarity >= threshold, most similar first. Similarity is the open-set score
    of `analysis.calibration`: a threshold is the same false-positive identification rate whatever the
    collection's size (the other faces of a searched face's own collection count as its candidates)."""
    index = services.indexes.get(collection)
    wanted = max_faces + (1 if exclude_row is not None else 0)
    found = index.search(query, wanted)
    candidates = max(1, len(index) - (1 if exclude_row is not None else 0))
    scores = calibration()
    limit = scores.search_distance_for(threshold, candidates)
    keep = [
        (int(k), float(d)) for k, d in zip(found.keys, found.distances, strict=True) if d <= limit and k != exclude_row
    ]
    records = services.store.faces_by_row([k for k, _ in keep])
    matches = [
        FaceMatch(
            Similarity=round(scores.search_similarity(d, candidates), 5),
            Face=face_view(records[k]),
            FalseMatchRate=significant(scores.fpir(d, candidates)),
        )
        for k, d in keep
        if k in records
    ]
    return matches[:max_faces]


def search_faces(
    services: Services,
    collection_id: str,
    face_id: str,
    max_faces: int | None = None,
    face_match_threshold: float | None = None,
) -> SearchFacesResult:
    collection = open_collection(services, collection_id)
    (face_id,) = validation.face_ids([face_id], 1)
    limit, threshold = _face_search_options(max_faces, face_match_threshold)
    records = services.store.faces_by_id(collection, [face_id], descriptors=True)
    if not records or records[0].descriptor is None:
        raise ResourceNotFound(f"face {face_id} is not in collection {collection.name}")
    matches = nearest_faces(
        services, collection, records[0].descriptor, limit, threshold, exclude_row=records[0].row_id
    )
    return SearchFacesResult(
        SearchedFaceId=face_id, FaceMatches=tuple(matches), FaceModelVersion=collection.face_model_version
    )


def search_faces_by_image(
    services: Services,
    collection_id: str,
    image: ImageInput | DecodedImage,
    max_faces: int | None = None,
    face_match_threshold: float | None = None,
    quality_filter: str | None = None,
) -> SearchFacesByImageResult:
    """The largest face of the image against the collection."""
    collection = open_collection(services, collection_id)
    limit, threshold = _face_search_options(max_faces, face_match_threshold)
    faces, query = faces_of_query_image(services, image, quality_filter if quality_filter is not None else "NONE")
    face = faces[0]
    matches = nearest_faces(services, collection, query, limit, threshold)
    return SearchFacesByImageResult(
        SearchedFaceBoundingBox=face.detail.BoundingBox,
        SearchedFaceConfidence=face.detail.Confidence,
        FaceMatches=tuple(matches),
        FaceModelVersion=collection.face_model_version,
    )


def _face_search_options(max_faces: int | None, face_match_threshold: float | None) -> tuple[int, float]:
    """MaxFaces (1-4096, default 80) and FaceMatchThreshold (0-100, default 80), as Rekognition has them."""
    limit = int(validation.in_range("MaxFaces", max_faces, 1, 4096)) if max_faces is not None else 80
    threshold = validation.in_range(
        "FaceMatchThreshold", 80.0 if face_match_threshold is None else face_match_threshold, 0, 100
    )
    return limit, threshold


def faces_of_query_image(
    services: Services, image: ImageInput | DecodedImage, quality_filter: str | None
) -> tuple[list[AnalyzedFace], Descriptor]:
    """All faces of a search image, largest first, and the largest one's descriptor: the query.
    No face, or a largest face that fails the QualityFilter, is InvalidParameter."""
    quality = check_filter(quality_filter)
    decoded = services.engine.decode(image)
    faces = services.engine.analyze(decoded)
    if not faces or faces[0].descriptor is None:
        raise InvalidParameter("There are no faces in the image")
    reasons = rejection_reasons(faces[0].detail, decoded.width, decoded.height, quality)
    if reasons:
        raise InvalidParameter(f"The largest face in the image does not pass the QualityFilter ({', '.join(reasons)})")
    return faces, faces[0].descriptor


def list_faces(
    services: Services,
    collection_id: str,
    max_results: int | None = None,
    next_token: str | None = None,
    user_id: str | None = None,
    face_ids: list[str] | None = None,
) -> ListFacesResult:
    collection = open_collection(services, collection_id, check_version=False)
    limit = validation.max_results(max_results, 1000)
    user = validation.user_id(user_id) if user_id is not None else None
    ids = validation.face_ids(face_ids, 4096) if face_ids is not None else None
    request = {"operation": "ListFaces", "collection": collection_id, "user": user, "faces": ids}
    after = int(decode_token(next_token, 0, request))
    records = services.store.list_faces(collection, after, limit + 1, user, ids)
    page, more = records[:limit], len(records) > limit
    return ListFacesResult(
        Faces=tuple(face_view(r) for r in page),
        FaceModelVersion=collection.face_model_version,
        NextToken=encode_token(page[-1].row_id, request) if more else None,
    )


def delete_faces(services: Services, collection_id: str, face_ids: list[str]) -> DeleteFacesResult:
    """Deletes faces and their descriptors for good; faces of a user must be disassociated first."""
    collection = open_collection(services, collection_id, check_version=False)
    ids = validation.face_ids(face_ids, 4096)
    existing = {r.face_id: r for r in services.store.faces_by_id(collection, ids)}
    deleted = {r.face_id for r in services.store.delete_faces(collection, ids)}
    failures = []
    for face_id in ids:
        if face_id in deleted:
            continue
        record = existing.get(face_id)
        if record is None:
            failures.append(UnsuccessfulFaceDeletion(face_id, ("FACE_NOT_FOUND",)))
        else:
            failures.append(UnsuccessfulFaceDeletion(face_id, ("ASSOCIATED_TO_AN_EXISTING_USER",), record.user_id))
    return DeleteFacesResult(
        DeletedFaces=tuple(f for f in ids if f in deleted), UnsuccessfulFaceDeletions=tuple(failures)
    )
