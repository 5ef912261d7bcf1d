"""Administration through the service door (permission class `admin`: the CLI's operator): access keys
and collection policies. Each call is audited like any other; a key's secret is never in the entry."""

from __future__ import annotations

from typing import Any

from faceindex.errors import InvalidParameter
from faceindex.service import validation
from faceindex.service.container import Services
from faceindex.service.keys import KeyStore
from faceindex.store.records import CollectionPolicy


def create_key(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    keys = KeyStore(services.store, services.settings.data_dir)
    key = keys.create(
        params.get("Name", ""),
        operations=params.get("Operations"),
        classes=params.get("Permissions"),
        collections=params.get("Collections"),
        min_similarity=params.get("MinSimilarity"),
        purpose=params.get("Purpose"),
    )
    grants = key.grants
    return {
        "AccessKeyId": key.access_key_id,
        "SecretAccessKey": key.secret_access_key,
        "Permissions": sorted(grants.classes),
        "Operations": sorted(grants.operations),
        **({"Collections": sorted(grants.collections)} if grants.collections is not None else {}),
        **({"MinSimilarity": grants.min_similarity} if grants.min_similarity is not None else {}),
        **({"Purpose": grants.purpose} if grants.purpose else {}),
    }


def revoke_key(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    KeyStore(services.store, services.settings.data_dir).revoke(params["AccessKeyId"])
    return {"AccessKeyId": params["AccessKeyId"]}


def put_policy(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    """Change the named fields of a collection's policy (absent ones keep their value)."""
    name = validation.collection_id(params["CollectionId"])
    current = services.store.collection_policy(name)
    floor = params.get("MinSimilarity", current.min_similarity)
    if floor is not None:
        floor = validation.in_range("MinSimilarity", float(floor), 0, 100)
    retention = params.get("RetentionDays", current.retention_days)
    if retention is not None and not retention > 0:
        raise InvalidParameter("RetentionDays must be positive")
    policy = CollectionPolicy(floor, bool(params.get("RequirePurpose", current.require_purpose)), retention)
    services.store.set_collection_policy(name, policy)
    return policy_answer(name, policy)


def describe_policy(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    name = validation.collection_id(params["CollectionId"])
    return policy_answer(name, services.store.collection_policy(name))


def policy_answer(name: str, policy: CollectionPolicy) -> dict[str, Any]:
    return {
        "CollectionId": name,
        "MinSimilarity": policy.min_similarity,
        "RequirePurpose": policy.require_purpose,
        "RetentionDays": policy.retention_days,
    }
