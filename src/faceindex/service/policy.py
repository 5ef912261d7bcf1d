"""Permissions by purpose, collection limits, threshold floors and required purposes.

Every operation belongs to one permission class: `detect` (DetectFaces), `compare` (CompareFaces, 1:1),
`identify` (every 1:N search), `manage` (collections, faces, users, tags, erasure) and `admin` (access
keys, policies, the audit log: the CLI's operator only, never an access key). A key grants classes
(`--allow`) or, as before, a list of operations (`--operations`); it may be limited to collections and
carry its own similarity floor and purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from faceindex.errors import AccessDenied
from faceindex.store.records import AccessKeyRecord, CollectionPolicy

CLASSES = ("detect", "compare", "identify", "manage")  # what an access key may be allowed
ADMIN = "admin"
ALL_OPERATIONS = "*"

WHAT = {
    "detect": "detect faces",
    "compare": "compare two faces (1:1)",
    "identify": "identify people (1:N search)",
    "manage": "manage collections, faces and users",
    ADMIN: "administer keys, policies and the audit log",
}


@dataclass(frozen=True)
class Grants:
    classes: frozenset[str]
    operations: frozenset[str] = frozenset()  # named operations, or "*" for every operation of CLASSES
    collections: frozenset[str] | None = None  # None: every collection
    min_similarity: float | None = None
    purpose: str | None = None

    @classmethod
    def everything(cls) -> Grants:
        return cls(frozenset(CLASSES))

    @classmethod
    def operator(cls) -> Grants:
        return cls(frozenset((*CLASSES, ADMIN)))

    @classmethod
    def of_key(cls, key: AccessKeyRecord) -> Grants:
        every = ALL_OPERATIONS in key.operations
        return cls(
            classes=frozenset(CLASSES if every else key.classes),
            operations=frozenset(() if every else key.operations),
            collections=None if key.collections is None else frozenset(key.collections),
            min_similarity=key.min_similarity,
            purpose=key.purpose,
        )

    def allows(self, operation: str, permission: str) -> bool:
        return permission in self.classes or (permission != ADMIN and operation in self.operations)

    def describe(self) -> str:
        parts = sorted(self.classes) + sorted(self.operations)
        return ", ".join(parts) or "nothing"


def authorise(principal: str, grants: Grants, operation: str, permission: str, collection: str | None) -> None:
    """AccessDeniedException naming what is missing: the permission class, or the collection."""
    if not grants.allows(operation, permission):
        hint = "" if permission == ADMIN else f"; a key made with `faceindex keys create --allow {permission}` may"
        raise AccessDenied(  # AWS's wording first: what SDK users search for
            f"User: {principal} is not authorized to perform: rekognition:{operation} (it needs the"
            f" '{permission}' permission, to {WHAT[permission]}){hint}"
        )
    if collection is not None and grants.collections is not None and collection not in grants.collections:
        raise AccessDenied(f"{principal} is limited to the collections {', '.join(sorted(grants.collections))}")


def floor(grants: Grants, policy: CollectionPolicy) -> float | None:
    """The lowest 1:N threshold allowed: the higher of the key's and the collection's floors."""
    floors = [f for f in (grants.min_similarity, policy.min_similarity) if f is not None]
    return max(floors) if floors else None


def require_purpose(principal: str, policy: CollectionPolicy, collection: str, purpose: str | None) -> None:
    if policy.require_purpose and not (purpose and purpose.strip()):
        raise AccessDenied(
            f"Collection {collection} requires a purpose for every 1:N search: send the X-Faceindex-Purpose"
            f" header, or use a key created with --purpose ({principal} stated none)"
        )
