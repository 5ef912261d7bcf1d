"""Access keys for the server, in the store, their secrets sealed with AES-GCM.

SigV4 is an HMAC keyed by the secret, so the server needs the secret itself: a hash cannot verify
a signature. Secrets are therefore encrypted at rest with a 256-bit master key, read from
FACEINDEX_MASTER_KEY (base64) or from `<data_dir>/master.key` (created 0600 on first use). A copy of
the database alone does not reveal any secret.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from faceindex.errors import InvalidParameter, ResourceNotFound
from faceindex.store.base import Store
from faceindex.store.records import AccessKeyRecord

ALL_OPERATIONS = "*"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    name: str
    operations: tuple[str, ...]

    def may_call(self, operation: str) -> bool:
        return ALL_OPERATIONS in self.operations or operation in self.operations


class KeyStore:
    def __init__(self, store: Store, data_dir: Path, master_key_b64: str | None = None) -> None:
        self._store = store
        self._data_dir = data_dir
        self._master_key_b64 = master_key_b64 or os.environ.get("FACEINDEX_MASTER_KEY")
        self._aead: AESGCM | None = None

    def create(self, name: str, operations: list[str]) -> AccessKey:
        """A new key; its secret is shown to the caller once and kept only sealed."""
        if not operations:
            raise InvalidParameter("a key needs at least one operation (or '*' for all)")
        access_key_id = "FIAK" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
        secret = base64.b64encode(secrets.token_bytes(30)).decode()  # 40 characters, as AWS's
        nonce = secrets.token_bytes(12)
        sealed = nonce + self._cipher().encrypt(nonce, secret.encode(), access_key_id.encode())
        self._store.add_access_key(AccessKeyRecord(access_key_id, sealed, name, tuple(operations), time.time()))
        return AccessKey(access_key_id, secret, name, tuple(operations))

    def get(self, access_key_id: str) -> AccessKey | None:
        """The active key with this id, or None (unknown or revoked)."""
        record = self._store.access_key(access_key_id)
        if record is None or record.revoked_at is not None:
            return None
        nonce, sealed = record.secret_sealed[:12], record.secret_sealed[12:]
        try:
            secret = self._cipher().decrypt(nonce, sealed, access_key_id.encode()).decode()
        except InvalidTag:
            return None  # sealed under another master key: treat as unknown, never crash
        return AccessKey(access_key_id, secret, record.name, record.operations)

    def list(self) -> list[AccessKeyRecord]:
        return self._store.access_keys()

    def revoke(self, access_key_id: str) -> None:
        if not self._store.revoke_access_key(access_key_id, time.time()):
            raise ResourceNotFound(f"no active access key {access_key_id}")

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self._master_key())
        return self._aead

    def _master_key(self) -> bytes:
        if self._master_key_b64:
            try:
                key = base64.b64decode(self._master_key_b64, validate=True)
            except ValueError:
                key = b""
            if len(key) != 32:
                raise InvalidParameter("FACEINDEX_MASTER_KEY must be 32 bytes in base64")
            return key
        path = self._data_dir / "master.key"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(key)
            return key
