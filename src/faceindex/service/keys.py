"""Access keys for the server, in the store, their secrets sealed (service.sealing): SigV4 is an HMAC
keyed by the secret, so the server needs the secret itself, and a hash cannot verify a signature. A key
grants permission classes and/or named operations, may be limited to collections, and may carry a
similarity floor and a purpose (service.policy)."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from faceindex.errors import InvalidParameter, ResourceNotFound
from faceindex.service.policy import ALL_OPERATIONS, CLASSES, Grants
from faceindex.service.sealing import Sealer
from faceindex.store.base import CredentialRows
from faceindex.store.records import AccessKeyRecord

__all__ = ["ALL_OPERATIONS", "AccessKey", "KeyStore"]
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    name: str
    operations: tuple[str, ...]
    grants: Grants


class KeyStore:
    def __init__(self, store: CredentialRows, data_dir: Path, master_key_b64: str | None = None) -> None:
        self._store = store
        self._sealer = Sealer(data_dir, master_key_b64)

    def create(
        self,
        name: str,
        operations: list[str] | None = None,
        classes: list[str] | None = None,
        collections: list[str] | None = None,
        min_similarity: float | None = None,
        purpose: str | None = None,
    ) -> AccessKey:
        """A new key; its secret is shown to the caller once and kept only sealed. It grants permission
        `classes` (detect, compare, identify, manage) and/or named `operations` ("*": every one)."""
        operations, classes = list(operations or ()), list(classes or ())
        if not operations and not classes:
            raise InvalidParameter("a key needs at least one permission (--allow) or operation (or '*' for all)")
        unknown = [c for c in classes if c not in CLASSES]
        if unknown:
            raise InvalidParameter(f"unknown permission {', '.join(unknown)}; choose from {', '.join(CLASSES)}")
        if min_similarity is not None and not 0 <= min_similarity <= 100:
            raise InvalidParameter("--min-similarity must be between 0 and 100")
        access_key_id = "FIAK" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
        secret = base64.b64encode(secrets.token_bytes(30)).decode()  # 40 characters, as AWS's
        record = AccessKeyRecord(
            access_key_id,
            self._sealer.seal(secret.encode(), access_key_id.encode()),
            name,
            tuple(operations),
            time.time(),
            classes=tuple(classes),
            collections=None if collections is None else tuple(collections),
            min_similarity=min_similarity,
            purpose=purpose,
        )
        self._store.add_access_key(record)
        return AccessKey(access_key_id, secret, name, tuple(operations), Grants.of_key(record))

    def get(self, access_key_id: str) -> AccessKey | None:
        """The active key with this id, or None (unknown, revoked, or sealed under another master key)."""
        record = self._store.access_key(access_key_id)
        if record is None or record.revoked_at is not None:
            return None
        secret = self._sealer.open(record.secret_sealed, access_key_id.encode())
        if secret is None:
            return None
        return AccessKey(access_key_id, secret.decode(), record.name, record.operations, Grants.of_key(record))

    def list(self) -> list[AccessKeyRecord]:
        return self._store.access_keys()

    def revoke(self, access_key_id: str) -> None:
        if not self._store.revoke_access_key(access_key_id, time.time()):
            raise ResourceNotFound(f"no active access key {access_key_id}")
