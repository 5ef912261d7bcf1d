"""Secrets at rest, sealed with AES-GCM under the data folder's 256-bit master key: access-key secrets
(SigV4 needs the secret itself, so a hash cannot do) and the audit log's signing key.

The master key comes from FACEINDEX_MASTER_KEY (base64) or `<data_dir>/master.key` (created 0600 on first
use). A copy of the database alone reveals no secret.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from faceindex.errors import InvalidParameter

NONCE_BYTES = 12


class Sealer:
    def __init__(self, data_dir: Path, master_key_b64: str | None = None) -> None:
        self._data_dir = data_dir
        self._master_key_b64 = master_key_b64 or os.environ.get("FACEINDEX_MASTER_KEY")
        self._aead: AESGCM | None = None

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """nonce || ciphertext, bound to `context` (what it is the secret of)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._cipher().encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes | None:
        """The plaintext, or None when it was sealed under another master key or altered."""
        try:
            return self._cipher().decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag:
            return None

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
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                return path.read_bytes()
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(key)
            return key
