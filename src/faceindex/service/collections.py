"""CreateCollection, DeleteCollection, DescribeCollection, ListCollections and resource tags."""

from __future__ import annotations

from dataclasses import dataclass

from faceindex.errors import InvalidParameter, ResourceNotFound
from faceindex.service import validation
from faceindex.service.container import Services
from faceindex.store.paging import decode_token, encode_token
from faceindex.store.records import CollectionRecord


@dataclass(frozen=True)
class CreateCollectionResult:
    StatusCode: int
    CollectionArn: str
    FaceModelVersion: str


@dataclass(frozen=True)
class DescribeCollectionResult:
    FaceCount: int
    FaceModelVersion: str
    CollectionARN: str
    CreationTimestamp: float
    UserCount: int


@dataclass(frozen=True)
class ListCollectionsResult:
    CollectionIds: tuple[str, ...]
    FaceModelVersions: tuple[str, ...]
    NextToken: str | None = None


def create_collection(
    services: Services, collection_id: str, tags: dict[str, str] | None = None
) -> CreateCollectionResult:
    name = validation.collection_id(collection_id)
    checked = _check_tags(tags) if tags is not None else {}  # before anything is created
    record = services.store.create_collection(name, services.collection_arn(name), services.face_model_version)
    if checked:
        services.store.tag(record.arn, checked)
    return CreateCollectionResult(StatusCode=200, CollectionArn=record.arn, FaceModelVersion=record.face_model_version)


def delete_collection(services: Services, collection_id: str) -> int:
    """Deletes the collection with all its faces, users and snapshots. Returns the status code."""
    record = open_collection(services, collection_id, check_version=False)
    services.store.delete_collection(record.name)
    services.indexes.forget(record)
    return 200


def describe_collection(services: Services, collection_id: str) -> DescribeCollectionResult:
    record = open_collection(services, collection_id, check_version=False)
    return DescribeCollectionResult(
        FaceCount=services.store.count_faces(record),
        FaceModelVersion=record.face_model_version,
        CollectionARN=record.arn,
        CreationTimestamp=record.created_at,
        UserCount=services.store.count_users(record),
    )


def list_collections(
    services: Services, max_results: int | None = None, next_token: str | None = None
) -> ListCollectionsResult:
    limit = validation.max_results(max_results, 1000)
    request = {"operation": "ListCollections"}
    after = str(decode_token(next_token, "", request))
    records = services.store.list_collections(after, limit + 1)
    page, more = records[:limit], len(records) > limit
    return ListCollectionsResult(
        CollectionIds=tuple(r.name for r in page),
        FaceModelVersions=tuple(r.face_model_version for r in page),
        NextToken=encode_token(page[-1].name, request) if more else None,
    )


def open_collection(services: Services, collection_id: str, check_version: bool = True) -> CollectionRecord:
    """The collection, which must exist and (for face operations) match the loaded model pack."""
    record = services.store.collection(validation.collection_id(collection_id))
    if check_version and record.face_model_version != services.face_model_version:
        raise InvalidParameter(
            f"collection {record.name} holds faces of model {record.face_model_version}; this server runs "
            f"{services.face_model_version}. Re-index into a new collection to use it."
        )
    return record


def collection_for_arn(services: Services, arn: str) -> CollectionRecord:
    prefix = services.collection_arn("")
    if not isinstance(arn, str) or not arn.startswith(prefix):
        raise ResourceNotFound(f"no resource with ARN {arn}")
    return services.store.collection(arn[len(prefix) :])


def tag_resource(services: Services, arn: str, tags: dict[str, str]) -> None:
    record = collection_for_arn(services, arn)
    services.store.tag(record.arn, _check_tags(tags))


def untag_resource(services: Services, arn: str, keys: list[str]) -> None:
    record = collection_for_arn(services, arn)
    services.store.untag(record.arn, keys)


def list_tags(services: Services, arn: str) -> dict[str, str]:
    return services.store.tags(collection_for_arn(services, arn).arn)


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if not isinstance(tags, dict) or len(tags) > 200:
        raise InvalidParameter("Tags must be a map of at most 200 keys")
    for key, value in tags.items():
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= 128
            or key.startswith("aws:")
            or not validation.is_text(key)
        ):
            raise InvalidParameter(f"tag key {key!r} is not valid")
        if not isinstance(value, str) or len(value) > 256 or not validation.is_text(value):
            raise InvalidParameter(f"tag value for {key!r} is not valid")
    return tags
