"""Users: a person's faces grouped under one UserId, searched as one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceindex.analysis.similarity import distances, similarity
from faceindex.errors import InvalidParameter, ResourceNotFound, ServiceQuotaExceeded
from faceindex.imaging.decode import DecodedImage, ImageInput
from faceindex.service import validation
from faceindex.service.collections import open_collection
from faceindex.service.container import Services
from faceindex.service.search import FaceMatch, faces_of_query_image, nearest_faces
from faceindex.store.paging import decode_token, encode_token
from faceindex.store.records import CollectionRecord
from faceindex.types import Descriptor, FaceDetail

MAX_FACES_PER_USER = 100


@dataclass(frozen=True)
class User:
    UserId: str
    UserStatus: str = "ACTIVE"


@dataclass(frozen=True)
class ListUsersResult:
    Users: tuple[User, ...]
    NextToken: str | None = None


@dataclass(frozen=True)
class AssociatedFace:
    FaceId: str


@dataclass(frozen=True)
class UnsuccessfulFaceAssociation:
    FaceId: str
    Reasons: tuple[str, ...]
    UserId: str | None = None
    Confidence: float | None = None


@dataclass(frozen=True)
class AssociateFacesResult:
    AssociatedFaces: tuple[AssociatedFace, ...]
    UnsuccessfulFaceAssociations: tuple[UnsuccessfulFaceAssociation, ...]
    UserStatus: str = "ACTIVE"


@dataclass(frozen=True)
class DisassociateFacesResult:
    DisassociatedFaces: tuple[AssociatedFace, ...]
    UnsuccessfulFaceDisassociations: tuple[UnsuccessfulFaceAssociation, ...]
    UserStatus: str = "ACTIVE"


@dataclass(frozen=True)
class UserMatch:
    Similarity: float
    User: User
    FalseMatchRate: float | None = None  # faceindex's: that of the user's best-matching face (search.FaceMatch)


@dataclass(frozen=True)
class SearchedFaceRef:
    FaceId: str


@dataclass(frozen=True)
class SearchedUserRef:
    UserId: str


@dataclass(frozen=True)
class SearchUsersResult:
    UserMatches: tuple[UserMatch, ...]
    FaceModelVersion: str
    SearchedFace: SearchedFaceRef | None = None
    SearchedUser: SearchedUserRef | None = None


@dataclass(frozen=True)
class SearchedFaceDetails:
    FaceDetail: FaceDetail


@dataclass(frozen=True)
class UnsearchedFace:
    FaceDetails: FaceDetail
    Reasons: tuple[str, ...]


@dataclass(frozen=True)
class SearchUsersByImageResult:
    UserMatches: tuple[UserMatch, ...]
    FaceModelVersion: str
    SearchedFace: SearchedFaceDetails
    UnsearchedFaces: tuple[UnsearchedFace, ...]


def create_user(services: Services, collection_id: str, user_id: str) -> None:
    collection = open_collection(services, collection_id, check_version=False)
    services.store.create_user(collection, validation.user_id(user_id))


def delete_user(services: Services, collection_id: str, user_id: str) -> None:
    """Deletes the user; its faces stay in the collection, no longer associated."""
    collection = open_collection(services, collection_id, check_version=False)
    services.store.delete_user(collection, validation.user_id(user_id))


def list_users(
    services: Services, collection_id: str, max_results: int | None = None, next_token: str | None = None
) -> ListUsersResult:
    collection = open_collection(services, collection_id, check_version=False)
    limit = int(validation.in_range("MaxResults", max_results, 1, 500)) if max_results is not None else 100
    request = {"operation": "ListUsers", "collection": collection_id}
    users = services.store.list_users(collection, str(decode_token(next_token, "", request)), limit + 1)
    page, more = users[:limit], len(users) > limit
    return ListUsersResult(tuple(User(u) for u in page), encode_token(page[-1], request) if more else None)


def associate_faces(
    services: Services, collection_id: str, user_id: str, face_ids: list[str], user_match_threshold: float | None = None
) -> AssociateFacesResult:
    """Faces join the user when they are free and look like the user's faces (>= threshold). Faces
    already the user's are left out of the answer, as Rekognition does."""
    collection = open_collection(services, collection_id)
    user = _existing_user(services, collection, user_id)
    ids = validation.face_ids(face_ids, MAX_FACES_PER_USER)
    threshold = validation.in_range(
        "UserMatchThreshold", 75.0 if user_match_threshold is None else user_match_threshold, 0, 100
    )
    current = services.store.user_faces(collection, user)
    found = {r.face_id: r for r in services.store.faces_by_id(collection, ids, descriptors=True)}
    joining = {face_id for face_id, record in found.items() if record.user_id is None}  # the user's already count
    if len(current) + len(joining) > MAX_FACES_PER_USER:
        raise ServiceQuotaExceeded(f"a user holds at most {MAX_FACES_PER_USER} faces")
    user_vectors = np.stack([r.descriptor for r in current if r.descriptor is not None]) if current else None
    accepted, failures = [], []
    for face_id in ids:
        record = found.get(face_id)
        if record is None:
            failures.append(UnsuccessfulFaceAssociation(face_id, ("FACE_NOT_FOUND",), user))
        elif record.user_id == user:
            continue  # already the user's: left out of the answer
        elif record.user_id is not None:
            failures.append(UnsuccessfulFaceAssociation(face_id, ("ASSOCIATED_TO_A_DIFFERENT_USER",), record.user_id))
        elif user_vectors is not None and record.descriptor is not None:
            score = float(similarity(distances(record.descriptor, user_vectors).min()))
            if score < threshold:
                failures.append(UnsuccessfulFaceAssociation(face_id, ("LOW_MATCH_CONFIDENCE",), user, round(score, 5)))
            else:
                accepted.append(face_id)
        else:
            accepted.append(face_id)
    services.store.set_user(collection, accepted, user)
    return AssociateFacesResult(tuple(AssociatedFace(f) for f in accepted), tuple(failures))


def disassociate_faces(
    services: Services, collection_id: str, user_id: str, face_ids: list[str]
) -> DisassociateFacesResult:
    collection = open_collection(services, collection_id, check_version=False)
    user = _existing_user(services, collection, user_id)
    ids = validation.face_ids(face_ids, MAX_FACES_PER_USER)
    found = {r.face_id: r for r in services.store.faces_by_id(collection, ids)}
    done, failures = [], []
    for face_id in ids:
        record = found.get(face_id)
        if record is None:
            failures.append(UnsuccessfulFaceAssociation(face_id, ("FACE_NOT_FOUND",), user))
        elif record.user_id is None:
            continue  # already disassociated: left out of the answer, as Rekognition does
        elif record.user_id != user:
            failures.append(UnsuccessfulFaceAssociation(face_id, ("ASSOCIATED_TO_A_DIFFERENT_USER",), record.user_id))
        else:
            done.append(face_id)
    services.store.set_user(collection, done, None)
    return DisassociateFacesResult(tuple(AssociatedFace(f) for f in done), tuple(failures))


def search_users(
    services: Services,
    collection_id: str,
    user_id: str | None = None,
    face_id: str | None = None,
    user_match_threshold: float | None = None,
    max_users: int | None = None,
) -> SearchUsersResult:
    """Users whose faces match a stored face, or the faces of a stored user (never that user itself)."""
    collection = open_collection(services, collection_id)
    if (user_id is None) == (face_id is None):
        raise InvalidParameter("give exactly one of UserId and FaceId")
    threshold, limit = _user_search_options(user_match_threshold, max_users)
    if face_id is not None:
        (face_id,) = validation.face_ids([face_id], 1)
        records = services.store.faces_by_id(collection, [face_id], descriptors=True)
        if not records or records[0].descriptor is None:
            raise ResourceNotFound(f"face {face_id} is not in collection {collection.name}")
        queries, exclude = [records[0].descriptor], records[0].user_id
        searched: dict[str, object] = {"SearchedFace": SearchedFaceRef(face_id)}
        searched_row: int | None = records[0].row_id
    else:
        user = _existing_user(services, collection, user_id or "")
        queries = [r.descriptor for r in services.store.user_faces(collection, user) if r.descriptor is not None]
        exclude = user
        searched = {"SearchedUser": SearchedUserRef(user)}
        searched_row = None
    matches = _match_users(services, collection, queries, threshold, limit, exclude, searched_row)
    return SearchUsersResult(tuple(matches), collection.face_model_version, **searched)  # type: ignore[arg-type]


def search_users_by_image(
    services: Services,
    collection_id: str,
    image: ImageInput | DecodedImage,
    user_match_threshold: float | None = None,
    max_users: int | None = None,
    quality_filter: str | None = None,
) -> SearchUsersByImageResult:
    """The largest face of the image against the collection's users; other faces are unsearched."""
    collection = open_collection(services, collection_id)
    threshold, limit = _user_search_options(user_match_threshold, max_users)
    # QualityFilter defaults to NONE here, as botocore documents (IndexFaces' default is AUTO)
    faces, query = faces_of_query_image(services, image, "NONE" if quality_filter is None else quality_filter)
    largest = faces[0]
    matches = _match_users(services, collection, [query], threshold, limit, None)
    unsearched = tuple(UnsearchedFace(f.detail, ("FACE_NOT_LARGEST",)) for f in faces[1:])
    return SearchUsersByImageResult(
        tuple(matches), collection.face_model_version, SearchedFaceDetails(largest.detail), unsearched
    )


def _user_search_options(threshold: float | None, max_users: int | None) -> tuple[float, int]:
    value = validation.in_range("UserMatchThreshold", 80.0 if threshold is None else threshold, 0, 100)
    limit = int(validation.in_range("MaxUsers", max_users, 1, 500)) if max_users is not None else 100
    return value, limit


def _existing_user(services: Services, collection: CollectionRecord, user_id: str) -> str:
    user = validation.user_id(user_id)
    if not services.store.user_exists(collection, user):
        raise ResourceNotFound(f"The user id: {user} does not exist")
    return user


def _match_users(
    services: Services,
    collection: CollectionRecord,
    queries: list[Descriptor],
    threshold: float,
    limit: int,
    exclude: str | None,
    searched_row: int | None = None,
) -> list[UserMatch]:
    """A user's similarity is that of its best-matching face (a searched face is not its own candidate)."""
    best: dict[str, FaceMatch] = {}
    for query in queries:
        for match in nearest_faces(services, collection, query, 4096, threshold, exclude_row=searched_row):
            user = match.Face.UserId
            if user is not None and user != exclude and match.Similarity > getattr(best.get(user), "Similarity", -1):
                best[user] = match
    ranked = sorted(best.items(), key=lambda item: item[1].Similarity, reverse=True)[:limit]
    return [UserMatch(match.Similarity, User(user), match.FalseMatchRate) for user, match in ranked]
