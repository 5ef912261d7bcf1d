"""The SQLite rows of what callers hold: remembered responses (ClientRequestToken), tags and access keys.
A mixin of `SqliteStore`, using its connection and write transaction (as `governance.py` is)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from typing import Protocol

from faceindex.store.records import AccessKeyRecord, RecordedRequest


class _Transactional(Protocol):
    def _connection(self) -> sqlite3.Connection: ...
    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


class ClientRows:
    # --- request tokens --------------------------------------------------------------------

    def recorded_response(self: _Transactional, operation: str, token: str, since: float) -> tuple[str, str] | None:
        """(request_sha256, response JSON) of the request `operation` first made with `token`
        at `since` or later."""
        row = (
            self._connection()
            .execute(
                "SELECT request_sha256, response FROM request_tokens "
                "WHERE operation = ? AND token = ? AND created_at >= ?",
                (operation, token, since),
            )
            .fetchone()
        )
        return (str(row[0]), str(row[1])) if row else None

    def record_response(
        self: _Transactional, request: RecordedRequest, response: str, forget_before: float, now: float
    ) -> None:
        """Remember a response for its token (replacing an expired one) and forget expired tokens."""
        with self._write() as db:
            db.execute("DELETE FROM request_tokens WHERE created_at < ?", (forget_before,))
            db.execute(
                "INSERT OR REPLACE INTO request_tokens "
                "(operation, token, collection, user_id, request_sha256, response, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*dataclasses.astuple(request), response, now),
            )

    # --- tags ----------------------------------------------------------------------------

    def tag(self: _Transactional, arn: str, tags: dict[str, str]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO tags (resource_arn, key, value) VALUES (?, ?, ?)",
                [(arn, key, value) for key, value in tags.items()],
            )

    def untag(self: _Transactional, arn: str, keys: list[str]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM tags WHERE resource_arn = ? AND key = ?", [(arn, key) for key in keys])

    def tags(self: _Transactional, arn: str) -> dict[str, str]:
        rows = self._connection().execute("SELECT key, value FROM tags WHERE resource_arn = ?", (arn,)).fetchall()
        return {key: value for key, value in rows}

    # --- access keys (the server's credentials) ----------------------------------------------

    def add_access_key(self: _Transactional, key: AccessKeyRecord) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO access_keys (access_key_id, secret_sealed, name, operations, created_at, revoked_at,"
                " classes, collections, min_similarity, purpose) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                (
                    key.access_key_id,
                    key.secret_sealed,
                    key.name,
                    json.dumps(list(key.operations)),
                    key.created_at,
                    json.dumps(list(key.classes)),
                    None if key.collections is None else json.dumps(list(key.collections)),
                    key.min_similarity,
                    key.purpose,
                ),
            )

    def access_key(self: _Transactional, access_key_id: str) -> AccessKeyRecord | None:
        row = (
            self._connection()
            .execute(f"SELECT {_KEY_COLUMNS} FROM access_keys WHERE access_key_id = ?", (access_key_id,))
            .fetchone()
        )
        return None if row is None else _access_key(row)

    def access_keys(self: _Transactional) -> list[AccessKeyRecord]:
        rows = self._connection().execute(f"SELECT {_KEY_COLUMNS} FROM access_keys ORDER BY created_at").fetchall()
        return [_access_key(row) for row in rows]

    def revoke_access_key(self: _Transactional, access_key_id: str, when: float) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE access_keys SET revoked_at = ? WHERE access_key_id = ? AND revoked_at IS NULL",
                (when, access_key_id),
            )
            return cursor.rowcount == 1


_KEY_COLUMNS = (
    "access_key_id, secret_sealed, name, operations, created_at, revoked_at,"
    " classes, collections, min_similarity, purpose"
)


def _access_key(row: tuple[object, ...]) -> AccessKeyRecord:
    return AccessKeyRecord(
        access_key_id=str(row[0]),
        secret_sealed=bytes(row[1]),  # type: ignore[call-overload]
        name=str(row[2]),
        operations=tuple(json.loads(str(row[3]))),
        created_at=float(row[4]),  # type: ignore[arg-type]
        revoked_at=None if row[5] is None else float(row[5]),  # type: ignore[arg-type]
        classes=tuple(json.loads(str(row[6]))),
        collections=None if row[7] is None else tuple(json.loads(str(row[7]))),
        min_similarity=None if row[8] is None else float(row[8]),  # type: ignore[arg-type]
        purpose=None if row[9] is None else str(row[9]),
    )
