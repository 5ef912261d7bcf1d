"""A store with no room to write: a typed, retryable error, nothing half-written, and writes
resume once there is room. The room runs out for real: SQLite's page cap (max_db_bytes)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pytest

from faceindex.config import Settings
from faceindex.errors import DiskFull, InvalidParameter, ServiceUnavailable
from faceindex.store.records import CollectionRecord, NewFace
from faceindex.store.sqlite.store import SqliteStore
from faceindex.types import BoundingBox

PAGE = 4096


def _face(seed: int) -> NewFace:
    descriptor = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return NewFace(BoundingBox(Width=0.2, Height=0.2, Left=0.1, Top=0.1), 99.0, descriptor)


def _fill(store: SqliteStore, collection: CollectionRecord) -> tuple[int, DiskFull]:
    """Add one face at a time until the store refuses; (faces added, the error)."""
    for added in range(1000):
        try:
            store.add_faces(collection, [_face(added)], None, uuid.uuid4().hex, "v")
        except DiskFull as error:
            return added, error
    raise AssertionError("the capped store never filled up")


def _capped(path: Path, extra_pages: int) -> SqliteStore:
    with sqlite3.connect(path) as db:
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    return SqliteStore(path, max_bytes=(pages + extra_pages) * PAGE)


def test_a_full_store_refuses_writes_with_a_retryable_error_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "data" / "faceindex.db"
    SqliteStore(path).create_collection("c", "arn:c", "v")
    store = _capped(path, extra_pages=6)
    collection = store.collection("c")
    assert store.room_problem(min_free_bytes=PAGE) is None

    added, error = _fill(store, collection)

    assert added >= 1
    assert isinstance(error, ServiceUnavailable) and error.code == "ServiceUnavailableException"
    assert "no room" in error.message and "intact" in error.message
    assert store.count_faces(collection) == added  # the refused image left no face behind
    assert len(store.list_faces(collection, 0, 1000)) == added  # reads still work
    problem = store.room_problem(min_free_bytes=1)  # even a tiny floor: the last write found no room
    assert problem is not None and "max_db_bytes" in problem
    store.close()  # closing a full store does not raise

    roomier = SqliteStore(path, max_bytes=store.max_bytes + 64 * PAGE)  # room returns
    assert roomier.room_problem(min_free_bytes=PAGE) is None
    roomier.add_faces(collection, [_face(10_001)], None, None, "v")
    assert roomier.count_faces(collection) == added + 1
    roomier.close()


def test_deleting_faces_makes_room_under_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "data" / "faceindex.db"
    SqliteStore(path).create_collection("c", "arn:c", "v")
    store = _capped(path, extra_pages=6)
    collection = store.collection("c")
    added, _ = _fill(store, collection)
    assert store.room_problem(min_free_bytes=PAGE) is not None

    deleted = store.delete_faces(collection, [f.face_id for f in store.list_faces(collection, 0, 1000)])
    assert len(deleted) == added
    assert store.room_problem(min_free_bytes=PAGE) is None  # the freed pages are room again
    store.add_faces(collection, [_face(10_002)], None, None, "v")
    assert store.count_faces(collection) == 1


def test_a_cap_below_the_readiness_floor_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="FACEINDEX_MAX_DB_BYTES"):
        Settings.from_env({"FACEINDEX_MAX_DB_BYTES": "1000000", "FACEINDEX_MIN_FREE_BYTES": "2000000"})
    settings = Settings.from_env({"FACEINDEX_MAX_DB_BYTES": "3000000", "FACEINDEX_MIN_FREE_BYTES": "2000000"})
    assert (settings.max_db_bytes, settings.min_free_bytes) == (3_000_000, 2_000_000)
