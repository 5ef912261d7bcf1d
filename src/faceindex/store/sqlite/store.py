"""The embedded store: SQLite in WAL mode, the source of truth. Only this package imports sqlite3.

Every write is one transaction; with `synchronous=FULL` an acknowledged write survives kill -9 and
power loss. Each thread gets its own connection, so readers never wait for a writer (WAL).
A full disk or a failed write is `ServiceUnavailable` (the transaction is rolled back whole); the
database file and its -wal and -shm are 0600 in a 0700 folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from faceindex.errors import Conflict, DiskFull, ResourceAlreadyExists, ResourceNotFound, ServiceUnavailable
from faceindex.store.records import CollectionRecord, FaceRecord, NewFace
from faceindex.store.sqlite import files
from faceindex.store.sqlite.clients import ClientRows
from faceindex.store.sqlite.governance import GovernanceRows
from faceindex.store.sqlite.jobs import JobRows
from faceindex.store.sqlite.rows import FACE_COLUMNS as _FACE_COLUMNS
from faceindex.store.sqlite.rows import face_record as _face
from faceindex.store.sqlite.schema import migrate


class SqliteStore(ClientRows, GovernanceRows, JobRows):
    def __init__(self, path: Path, max_bytes: int = 0) -> None:
        """`max_bytes`: a cap on the database's size (0: none); writes past it are ServiceUnavailable."""
        self.path = path
        self.max_bytes = max_bytes
        files.private_folder(path.parent)
        files.private_file(path)  # before SQLite opens it: its -wal and -shm get the database file's mode
        for kept in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            if kept.exists():  # left by an earlier version, maybe with a looser mode
                files.private_file(kept)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._full: tuple[str, int] | None = None  # the room that ran out at the last failed write
        with _storage_errors():
            migrate(self._connection())

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with _storage_errors():
                connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, factory=_Connection)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            # deleted rows are overwritten with zeros, not left in free pages: an erased descriptor is gone
            # from the file (and, after `compact()`, from the WAL)
            connection.execute("PRAGMA secure_delete=ON")
            if self.max_bytes:
                page_size = int(connection.execute("PRAGMA page_size").fetchone()[0])
                connection.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page_size)}")
            self._local.connection = connection
        return connection

    @contextlib.contextmanager
    def transaction(self, eager: bool = False) -> Iterator[None]:
        """One transaction for every write this thread makes inside the block (the service door puts a
        change and its audit entry in one). It begins at the first write, so work before it (a model's
        analysis) holds no lock; `eager` begins at once, taking SQLite's write lock, which serialises
        the block against other threads *and other processes* on the same file (idempotent requests)."""
        if getattr(self._local, "unit", None) is not None:
            yield  # nested: part of the outer transaction
            return
        unit = _Unit()
        self._local.unit = unit
        try:
            if eager:
                self._begin(unit)
            yield
            if unit.open:
                self._finish(commit=True)
        except BaseException as error:
            if unit.open:
                self._finish(commit=False, error=error)
            raise
        finally:
            self._local.unit = None
            if unit.open:
                unit.open = False
                self._write_lock.release()

    def _begin(self, unit: _Unit) -> None:
        self._write_lock.acquire()
        try:
            self._connection().execute("BEGIN IMMEDIATE")
        except BaseException:
            self._write_lock.release()
            raise
        unit.open = True

    def _finish(self, commit: bool, error: BaseException | None = None) -> None:
        connection = self._connection()
        try:
            if commit:
                connection.execute("COMMIT")
                self._full = None
                return
        except BaseException as failed:
            error = failed
        if connection.in_transaction:  # SQLite itself rolls back after most disk-full errors
            connection.execute("ROLLBACK")
        if isinstance(error, DiskFull):
            self._full = self._tightest_room()
        if commit and error is not None:
            raise error

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        unit: _Unit | None = getattr(self._local, "unit", None)
        if unit is not None:  # inside transaction(): join it (it commits or rolls back)
            if not unit.open:
                self._begin(unit)
            yield self._connection()
            return
        unit = _Unit()
        self._begin(unit)
        try:
            yield self._connection()
        except BaseException as error:
            self._finish(commit=False, error=error)
            raise
        else:
            self._finish(commit=True)
        finally:
            self._write_lock.release()

    def room_problem(self, min_free_bytes: int) -> str | None:
        """Why writes fail or are about to for lack of room, or None: less than `min_free_bytes` left
        on the data folder's file system or under the size cap, or the last write found no room and
        that room has not grown since."""
        disk, cap = self._room()
        if disk < min_free_bytes:
            return f"the data folder's file system has {_mib(disk)} free; writes need at least {_mib(min_free_bytes)}"
        if cap is not None and cap < min_free_bytes:
            return f"the database has {_mib(cap)} left under its cap of {_mib(self.max_bytes)} (max_db_bytes)"
        if self._full is not None:
            kind, left = self._full
            if (disk if kind == "disk" else cap or 0) <= left:  # nothing freed since
                return f"the last write found no room {'on the disk' if kind == 'disk' else 'under max_db_bytes'}"
        return None

    def _room(self) -> tuple[int, int | None]:
        """(bytes free on the data folder's file system, bytes left under the cap or None)."""
        disk = files.free_bytes(self.path.parent)
        if not self.max_bytes:
            return disk, None
        db = self._connection()
        page_size, pages, unused, max_pages = (
            int(db.execute(f"PRAGMA {name}").fetchone()[0])
            for name in ("page_size", "page_count", "freelist_count", "max_page_count")
        )
        return disk, (max_pages - pages + unused) * page_size

    def _tightest_room(self) -> tuple[str, int]:
        """Which room ran out ("disk" or "cap") and how much of it is left."""
        disk, cap = self._room()
        return ("cap", cap) if cap is not None and cap < disk else ("disk", disk)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):  # a checkpoint that cannot run on a full disk waits
                connection.close()
            self._local.connection = None

    # --- collections ---------------------------------------------------------------------

    def create_collection(self, name: str, arn: str, face_model_version: str) -> CollectionRecord:
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO collections (name, arn, face_model_version, created_at) VALUES (?, ?, ?, ?)",
                    (name, arn, face_model_version, time.time()),
                )
        except sqlite3.IntegrityError:
            raise ResourceAlreadyExists(f"The collection id: {name} already exists") from None
        return self.collection(name)

    def collection(self, name: str) -> CollectionRecord:
        row = (
            self._connection()
            .execute("SELECT id, name, arn, face_model_version, created_at FROM collections WHERE name = ?", (name,))
            .fetchone()
        )
        if row is None:
            raise ResourceNotFound(f"The collection id: {name} does not exist")
        return CollectionRecord(*row)

    def delete_collection(self, name: str) -> None:
        with self._write() as db:
            row = db.execute("SELECT id, arn FROM collections WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ResourceNotFound(f"The collection id: {name} does not exist")
            db.execute("DELETE FROM collections WHERE id = ?", (row[0],))  # cascades to faces, users, images
            db.execute("DELETE FROM tags WHERE resource_arn = ?", (row[1],))
            db.execute("DELETE FROM request_tokens WHERE collection = ?", (name,))

    def list_collections(self, after: str, limit: int) -> list[CollectionRecord]:
        rows = (
            self._connection()
            .execute(
                "SELECT id, name, arn, face_model_version, created_at FROM collections"
                " WHERE name > ? ORDER BY name LIMIT ?",
                (after, limit),
            )
            .fetchall()
        )
        return [CollectionRecord(*row) for row in rows]

    def count_faces(self, collection: CollectionRecord) -> int:
        row = self._connection().execute("SELECT COUNT(*) FROM faces WHERE collection_id = ?", (collection.row_id,))
        return int(row.fetchone()[0])

    def face_counts(self) -> list[tuple[str, int]]:
        """(collection name, faces) for every collection."""
        rows = (
            self._connection()
            .execute(
                "SELECT c.name, (SELECT COUNT(*) FROM faces f WHERE f.collection_id = c.id) FROM collections c"
                " ORDER BY c.name"
            )
            .fetchall()
        )
        return [(str(name), int(count)) for name, count in rows]

    def count_users(self, collection: CollectionRecord) -> int:
        row = self._connection().execute("SELECT COUNT(*) FROM users WHERE collection_id = ?", (collection.row_id,))
        return int(row.fetchone()[0])

    # --- faces ---------------------------------------------------------------------------

    def add_faces(
        self,
        collection: CollectionRecord,
        faces: list[NewFace],
        external_image_id: str | None,
        image_sha256: str | None,
        model_version: str,
    ) -> list[FaceRecord]:
        """Insert the faces of one image in one transaction, and remember the image if any face was stored."""
        image_id = str(uuid.uuid4())
        now = time.time()
        records = []
        with self._write() as db:
            for face in faces:
                face_id = str(uuid.uuid4())
                box = face.box
                cursor = db.execute(
                    "INSERT INTO faces (collection_id, face_id, image_id, external_image_id, box_width, box_height,"
                    " box_left, box_top, confidence, descriptor, model_version, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        collection.row_id,
                        face_id,
                        image_id,
                        external_image_id,
                        box.Width,
                        box.Height,
                        box.Left,
                        box.Top,
                        face.confidence,
                        np.asarray(face.descriptor, "<f4").tobytes(),
                        model_version,
                        now,
                    ),
                )
                row_id = int(cursor.lastrowid or 0)
                db.execute(
                    "INSERT INTO changes (collection_id, row_id, added) VALUES (?, ?, 1)", (collection.row_id, row_id)
                )
                records.append(
                    FaceRecord(
                        row_id,
                        face_id,
                        image_id,
                        external_image_id,
                        box,
                        face.confidence,
                        model_version,
                        None,
                        face.descriptor,
                    )
                )
            if image_sha256 is not None and records:
                db.execute(
                    "INSERT OR REPLACE INTO images (collection_id, sha256, image_id, indexed_at) VALUES (?, ?, ?, ?)",
                    (collection.row_id, image_sha256, image_id, now),
                )
        return records

    def image_indexed(self, collection: CollectionRecord, image_sha256: str) -> bool:
        """True while at least one face of the image is stored: after `faces delete` it can be indexed again."""
        row = (
            self._connection()
            .execute(
                "SELECT 1 FROM images JOIN faces ON faces.collection_id = images.collection_id"
                " AND faces.image_id = images.image_id WHERE images.collection_id = ? AND images.sha256 = ? LIMIT 1",
                (collection.row_id, image_sha256),
            )
            .fetchone()
        )
        return row is not None

    def list_faces(
        self,
        collection: CollectionRecord,
        after_row: int,
        limit: int,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> list[FaceRecord]:
        sql = f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND id > ?"
        params: list[object] = [collection.row_id, after_row]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        if face_ids is not None:
            sql += f" AND face_id IN ({','.join('?' * len(face_ids))})"
            params += face_ids
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_face(row) for row in self._connection().execute(sql, params).fetchall()]

    def faces_by_id(
        self, collection: CollectionRecord, face_ids: list[str], descriptors: bool = False
    ) -> list[FaceRecord]:
        if not face_ids:
            return []
        columns = _FACE_COLUMNS + (", descriptor" if descriptors else "")
        rows = (
            self._connection()
            .execute(
                f"SELECT {columns} FROM faces WHERE collection_id = ? AND face_id IN ({','.join('?' * len(face_ids))})",
                [collection.row_id, *face_ids],
            )
            .fetchall()
        )
        return [_face(row) for row in rows]

    def faces_by_row(self, row_ids: list[int]) -> dict[int, FaceRecord]:
        if not row_ids:
            return {}
        rows = (
            self._connection()
            .execute(f"SELECT {_FACE_COLUMNS} FROM faces WHERE id IN ({','.join('?' * len(row_ids))})", row_ids)
            .fetchall()
        )
        return {int(row[0]): _face(row) for row in rows}

    def descriptors_by_row(self, row_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row ids found, their descriptors): an approximate index re-ranks its candidates with them."""
        ids = [int(i) for i in row_ids]
        rows = (
            self._connection()
            .execute(f"SELECT id, descriptor FROM faces WHERE id IN ({','.join('?' * len(ids))})", ids)
            .fetchall()
            if ids
            else []
        )
        return _row_vectors(rows)

    def descriptors(self, collection: CollectionRecord) -> tuple[int, np.ndarray, np.ndarray]:
        """(change seq, row ids, descriptors) of a collection, read in one snapshot: an index's source."""
        db = self._connection()
        db.execute("BEGIN")
        try:
            seq = self._last_change(db, collection)
            rows = db.execute(
                "SELECT id, descriptor FROM faces WHERE collection_id = ? ORDER BY id", (collection.row_id,)
            ).fetchall()
        finally:
            db.execute("COMMIT")
        return (seq, *_row_vectors(rows))

    def changes_since(self, collection: CollectionRecord, seq: int) -> tuple[int, list[tuple[int, np.ndarray | None]]]:
        """Index changes after `seq`, in order: (row id, descriptor) added or (row id, None) removed."""
        db = self._connection()
        db.execute("BEGIN")
        try:
            rows = db.execute(
                "SELECT c.seq, c.row_id, c.added, f.descriptor FROM changes c LEFT JOIN faces f ON f.id = c.row_id"
                " WHERE c.collection_id = ? AND c.seq > ? ORDER BY c.seq",
                (collection.row_id, seq),
            ).fetchall()
        finally:
            db.execute("COMMIT")
        if not rows:
            return seq, []
        out: list[tuple[int, np.ndarray | None]] = []
        for _, row_id, added, blob in rows:
            if added and blob is None:  # added, then deleted later in the log: nothing to add
                continue
            out.append((int(row_id), np.frombuffer(blob, "<f4").astype(np.float32) if added else None))
        return int(rows[-1][0]), out

    def last_change(self, collection: CollectionRecord) -> int:
        return self._last_change(self._connection(), collection)

    @staticmethod
    def _last_change(db: sqlite3.Connection, collection: CollectionRecord) -> int:
        row = db.execute("SELECT MAX(seq) FROM changes WHERE collection_id = ?", (collection.row_id,)).fetchone()
        return int(row[0] or 0)

    def delete_faces(self, collection: CollectionRecord, face_ids: list[str]) -> list[FaceRecord]:
        """Delete faces not associated with a user; returns the rows deleted."""
        with self._write() as db:
            rows = db.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND user_id IS NULL"
                f" AND face_id IN ({','.join('?' * len(face_ids))})",
                [collection.row_id, *face_ids],
            ).fetchall()
            deleted = [_face(row) for row in rows]
            db.executemany("DELETE FROM faces WHERE id = ?", [(f.row_id,) for f in deleted])
            db.executemany(
                "INSERT INTO changes (collection_id, row_id, added) VALUES (?, ?, 0)",
                [(collection.row_id, f.row_id) for f in deleted],
            )
        return deleted

    # --- users ---------------------------------------------------------------------------

    def create_user(self, collection: CollectionRecord, user_id: str) -> None:
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO users (collection_id, user_id, created_at) VALUES (?, ?, ?)",
                    (collection.row_id, user_id, time.time()),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"The user id: {user_id} already exists in the collection") from None

    def user_exists(self, collection: CollectionRecord, user_id: str) -> bool:
        row = (
            self._connection()
            .execute("SELECT 1 FROM users WHERE collection_id = ? AND user_id = ?", (collection.row_id, user_id))
            .fetchone()
        )
        return row is not None

    def delete_user(self, collection: CollectionRecord, user_id: str) -> None:
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM users WHERE collection_id = ? AND user_id = ?", (collection.row_id, user_id)
            )
            if cursor.rowcount == 0:
                raise ResourceNotFound(f"The user id: {user_id} does not exist")
            db.execute("DELETE FROM request_tokens WHERE collection = ? AND user_id = ?", (collection.name, user_id))
            db.execute(
                "UPDATE faces SET user_id = NULL WHERE collection_id = ? AND user_id = ?", (collection.row_id, user_id)
            )

    def list_users(self, collection: CollectionRecord, after: str, limit: int) -> list[str]:
        rows = (
            self._connection()
            .execute(
                "SELECT user_id FROM users WHERE collection_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
                (collection.row_id, after, limit),
            )
            .fetchall()
        )
        return [row[0] for row in rows]

    def set_user(self, collection: CollectionRecord, face_ids: list[str], user_id: str | None) -> None:
        with self._write() as db:
            db.executemany(
                "UPDATE faces SET user_id = ? WHERE collection_id = ? AND face_id = ?",
                [(user_id, collection.row_id, face_id) for face_id in face_ids],
            )

    def user_faces(self, collection: CollectionRecord, user_id: str) -> list[FaceRecord]:
        rows = (
            self._connection()
            .execute(
                f"SELECT {_FACE_COLUMNS}, descriptor FROM faces WHERE collection_id = ? AND user_id = ? ORDER BY id",
                (collection.row_id, user_id),
            )
            .fetchall()
        )
        return [_face(row) for row in rows]


@dataclasses.dataclass
class _Unit:
    open: bool = False  # a transaction has begun and this thread holds the write lock


class _Connection(sqlite3.Connection):
    """A connection whose statements raise ServiceUnavailable when the disk is full or fails."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with _storage_errors():
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        with _storage_errors():
            return super().executemany(sql, parameters)


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
        if code == sqlite3.SQLITE_FULL:
            raise DiskFull(
                "The server has no room to store this (its disk is full, or the database is at its size cap):"
                " nothing was written and earlier data is intact. Retry once space is freed."
            ) from None
        if code == sqlite3.SQLITE_IOERR:
            raise ServiceUnavailable(
                "The server's disk failed a read or write (I/O error): nothing was written. Retry later."
            ) from None
        raise


def _mib(size: int) -> str:
    return f"{max(size, 0) / 2**20:.1f} MiB"


def _row_vectors(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """(row ids, float32 descriptors) from (id, descriptor BLOB) rows."""
    keys = np.array([row[0] for row in rows], np.int64)
    vectors = np.frombuffer(b"".join(row[1] for row in rows), "<f4").reshape(len(rows), -1)
    return keys, vectors.astype(np.float32)
