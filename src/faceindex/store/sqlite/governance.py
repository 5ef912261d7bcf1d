"""The SQLite rows of issue 13's safeguards: collection policies, the audit log and its signed heads,
sealed service secrets, the faces' last use (retention) and erasure. A mixin of `SqliteStore`: it uses
the store's connection and write transaction, so an audit entry joins the change it records."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Protocol

from faceindex.store.records import AuditColumns, AuditRow, CollectionPolicy, CollectionRecord, ErasedFace
from faceindex.store.sqlite.rows import FACE_COLUMNS, face_record

GENESIS = bytes(32)  # the chain value before the first entry
COMPACT_ATTEMPTS = 20  # ~2 s of retries in all


class _Transactional(Protocol):
    def _connection(self) -> sqlite3.Connection: ...
    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


class GovernanceRows:
    # --- collection policies ---------------------------------------------------------------

    def collection_policy(self: _Transactional, name: str) -> CollectionPolicy:
        row = (
            self._connection()
            .execute(
                "SELECT min_similarity, require_purpose, retention_days FROM collection_policies WHERE collection = ?",
                (name,),
            )
            .fetchone()
        )
        return CollectionPolicy() if row is None else CollectionPolicy(row[0], bool(row[1]), row[2])

    def set_collection_policy(self: _Transactional, name: str, policy: CollectionPolicy) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO collection_policies"
                " (collection, min_similarity, require_purpose, retention_days) VALUES (?, ?, ?, ?)",
                (name, policy.min_similarity, int(policy.require_purpose), policy.retention_days),
            )

    def collection_policies(self: _Transactional) -> dict[str, CollectionPolicy]:
        rows = self._connection().execute(
            "SELECT collection, min_similarity, require_purpose, retention_days FROM collection_policies"
        )
        return {str(r[0]): CollectionPolicy(r[1], bool(r[2]), r[3]) for r in rows.fetchall()}

    # --- the audit log -------------------------------------------------------------------------

    def append_audit(self: _Transactional, columns: AuditColumns, seal: Callable[[int, bytes], AuditRow]) -> AuditRow:
        """Append the entry `seal(seq, previous chain)` makes, inside the current write transaction (so
        under the write lock, and across processes under SQLite's: the chain has one order)."""
        with self._write() as db:
            last = db.execute("SELECT seq, chain FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, previous = (1, GENESIS) if last is None else (int(last[0]) + 1, bytes(last[1]))
            row = seal(seq, previous)
            db.execute(
                "INSERT INTO audit (seq, time, principal, operation, collection, body, chain, signature)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.seq,
                    columns.time,
                    columns.principal,
                    columns.operation,
                    columns.collection,
                    row.body,
                    row.chain,
                    row.signature,
                ),
            )
        return row

    def audit_rows(
        self: _Transactional,
        after_seq: int,
        limit: int,
        since: float | None = None,
        until: float | None = None,
        principal: str | None = None,
        collection: str | None = None,
        operation: str | None = None,
    ) -> list[AuditRow]:
        where: list[str] = ["seq > ?"]
        values: list[object] = [after_seq]
        for column, value, test in (
            ("time", since, ">="),
            ("time", until, "<"),
            ("principal", principal, "="),
            ("collection", collection, "="),
            ("operation", operation, "="),
        ):
            if value is not None:
                where.append(f"{column} {test} ?")
                values.append(value)
        rows = self._connection().execute(
            f"SELECT seq, body, chain, signature FROM audit WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?",
            (*values, limit),
        )
        return [AuditRow(int(r[0]), str(r[1]), bytes(r[2]), bytes(r[3])) for r in rows.fetchall()]

    def audit_size(self: _Transactional) -> int:
        row = self._connection().execute("SELECT MAX(seq) FROM audit").fetchone()
        return int(row[0] or 0)

    def audit_heads(self: _Transactional) -> list[tuple[int, str, str]]:
        """(size, head JSON, frontier JSON) of every signed head, oldest first."""
        rows = self._connection().execute("SELECT size, head, frontier FROM audit_heads ORDER BY size")
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows.fetchall()]

    def add_audit_head(self: _Transactional, size: int, head: str, frontier: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO audit_heads (size, head, frontier) VALUES (?, ?, ?)", (size, head, frontier)
            )

    # --- sealed secrets ----------------------------------------------------------------------

    def sealed_secret(self: _Transactional, name: str) -> bytes | None:
        row = self._connection().execute("SELECT sealed FROM sealed_secrets WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def keep_sealed_secret(self: _Transactional, name: str, sealed: bytes) -> bytes:
        """Store `sealed` unless a secret of that name exists; returns the one kept (two processes
        creating it at once agree on one)."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO sealed_secrets (name, sealed) VALUES (?, ?)", (name, sealed))
            return bytes(db.execute("SELECT sealed FROM sealed_secrets WHERE name = ?", (name,)).fetchone()[0])

    # --- retention and erasure ---------------------------------------------------------------

    def touch_faces(self: _Transactional, collection: CollectionRecord, face_ids: list[str], when: float) -> None:
        if not face_ids:
            return
        with self._write() as db:
            db.executemany(
                "UPDATE faces SET used_at = ? WHERE collection_id = ? AND face_id = ?",
                [(when, collection.row_id, face_id) for face_id in face_ids],
            )

    def unused_faces(self: _Transactional, collection: CollectionRecord, before: float, limit: int) -> list[str]:
        """FaceIds neither indexed nor matched since `before`, oldest first."""
        rows = self._connection().execute(
            "SELECT face_id FROM faces WHERE collection_id = ? AND COALESCE(used_at, created_at) < ?"
            " ORDER BY COALESCE(used_at, created_at) LIMIT ?",
            (collection.row_id, before, limit),
        )
        return [str(r[0]) for r in rows.fetchall()]

    def erase_faces(
        self: _Transactional,
        collection: CollectionRecord | None,
        external_image_id: str | None = None,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> list[ErasedFace]:
        """Delete the faces (associated with a user or not) with this ExternalImageId, of this user or with
        these FaceIds, in one collection or all; a user erased is deleted too. The rows are overwritten
        (secure_delete); `compact()` then clears the WAL."""
        where: list[str] = []
        values: list[object] = []
        if collection is not None:
            where.append("faces.collection_id = ?")
            values.append(collection.row_id)
        for column, value in (("external_image_id", external_image_id), ("user_id", user_id)):
            if value is not None:
                where.append(f"faces.{column} = ?")
                values.append(value)
        if face_ids is not None:
            where.append(f"faces.face_id IN ({','.join('?' * len(face_ids))})")
            values.extend(face_ids)
        if len(where) == (collection is not None):
            raise ValueError("erase_faces needs an ExternalImageId, a UserId or FaceIds")
        columns = ", ".join(f"faces.{c.strip()}" for c in FACE_COLUMNS.split(","))
        with self._write() as db:
            rows = db.execute(
                f"SELECT collections.name, faces.collection_id, {columns} FROM faces"
                f" JOIN collections ON collections.id = faces.collection_id WHERE {' AND '.join(where)}",
                values,
            ).fetchall()
            erased = [ErasedFace(str(r[0]), face_record(r[2:])) for r in rows]
            db.executemany("DELETE FROM faces WHERE id = ?", [(e.face.row_id,) for e in erased])
            db.executemany(
                "INSERT INTO changes (collection_id, row_id, added) VALUES (?, ?, 0)",
                [(r[1], e.face.row_id) for r, e in zip(rows, erased, strict=True)],
            )
            if user_id is not None:
                scope, scope_values = ("collection_id = ?", [collection.row_id]) if collection else ("1", [])
                db.execute(f"DELETE FROM users WHERE user_id = ? AND {scope}", [user_id, *scope_values])
                token_scope = "collection = ?" if collection else "1"
                db.execute(
                    f"DELETE FROM request_tokens WHERE user_id = ? AND {token_scope}",
                    [user_id, *([collection.name] if collection else [])],
                )
        return erased

    def compact(self: _Transactional) -> bool:
        """Copy the WAL into the database file and truncate it to zero bytes, so deleted rows' old pages
        are gone from it; True when it completed. A reader still on older pages makes it wait: it is retried
        for about 2 s (a server's reads are short), and the server's hourly housekeeping compacts again."""
        for attempt in range(COMPACT_ATTEMPTS):
            row = self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if row is not None and int(row[0]) == 0:
                return True
            time.sleep(0.01 * (attempt + 1))
        return False
