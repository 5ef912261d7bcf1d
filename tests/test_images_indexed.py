"""The store's "image indexed" bookkeeping: an image counts as indexed only while one of its faces is stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from faceindex.store.records import NewFace
from faceindex.store.sqlite.schema import MIGRATIONS
from faceindex.store.sqlite.store import SqliteStore
from faceindex.types import BoundingBox


def _face(seed: int) -> NewFace:
    vector = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return NewFace(BoundingBox(0.2, 0.2, 0.1, 0.1), 99.0, vector / np.linalg.norm(vector))


def test_an_image_is_indexed_while_one_of_its_faces_is_stored(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "faceindex.db")
    collection = store.create_collection("people", "arn", "v")
    store.add_faces(collection, [], None, "no-face", "v")
    assert not store.image_indexed(collection, "no-face")  # nothing stored: the next run reads it again

    records = store.add_faces(collection, [_face(1), _face(2)], None, "two-faces", "v")
    assert store.image_indexed(collection, "two-faces")
    store.delete_faces(collection, [records[0].face_id])
    assert store.image_indexed(collection, "two-faces")  # one face left
    store.delete_faces(collection, [records[1].face_id])
    assert not store.image_indexed(collection, "two-faces")  # `faces delete` makes it indexable again
    store.close()


def test_migration_forgets_images_that_kept_no_face(tmp_path: Path) -> None:
    path = tmp_path / "faceindex.db"
    old = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:3], start=1):  # a data folder from before this bookkeeping
        old.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    old.execute("INSERT INTO collections (name, arn, face_model_version, created_at) VALUES ('people', 'a', 'v', 0)")
    old.execute("INSERT INTO images (collection_id, sha256, image_id, indexed_at) VALUES (1, 'empty', 'i1', 0)")
    old.close()

    store = SqliteStore(path)
    collection = store.collection("people")
    assert not store.image_indexed(collection, "empty")
    rows = store._connection().execute("SELECT COUNT(*) FROM images").fetchone()[0]
    assert rows == 0
    store.close()
