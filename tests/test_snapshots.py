"""Index snapshots are caches: whatever is wrong with one, the index is rebuilt from the database
and searches answer as if no snapshot had been there. Synthetic descriptors through the real
SQLite store; the live-server case at the end uses the real models."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from faceindex.store.index.exact import ExactIndex
from faceindex.store.indexes import CollectionIndexes
from faceindex.store.records import CollectionRecord, NewFace
from faceindex.store.sqlite.store import SqliteStore
from faceindex.types import BoundingBox
from tests.api.live import start_server

FACES = 300


def _descriptors(count: int, seed: int = 0) -> np.ndarray:
    """Descriptor-like vectors: a shared component, identities ~0.85 apart."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.06, 128) + rng.normal(0, 0.06, (count, 128))).astype(np.float32)


def _filled_store(path: Path, vectors: np.ndarray) -> tuple[SqliteStore, CollectionRecord]:
    store = SqliteStore(path)
    record = store.create_collection("people", "arn:aws:rekognition:us-east-1:1:collection/people", "dlib-v1")
    faces = [NewFace(BoundingBox(0.5, 0.5, 0.1, 0.1), 99.0, v) for v in vectors]
    store.add_faces(record, faces, None, None, "dlib-v1")
    return store, record


def _saved(tmp_path: Path, kind: str) -> tuple[SqliteStore, CollectionRecord, np.ndarray, Path]:
    """A collection of FACES faces whose index (of `kind`) has been saved as a snapshot."""
    vectors = _descriptors(FACES)
    store, record = _filled_store(tmp_path / "faceindex.db", vectors)
    indexes = CollectionIndexes(store, tmp_path / "indexes", kind)
    assert len(indexes.get(record)) == FACES
    indexes.save()
    return store, record, vectors, tmp_path / "indexes"


def _assert_searches_right(store: SqliteStore, record: CollectionRecord, vectors: np.ndarray, folder: Path) -> None:
    """A process that opens the collection again finds each face as its own nearest neighbour."""
    index = CollectionIndexes(store, folder, "exact").get(record)
    keys = store.descriptors(record)[1]
    assert len(index) == len(keys)
    for i in range(0, FACES, 7):
        found = index.search(vectors[i] + 0.001, 1)
        assert found.keys[0] == keys[i]
        assert found.distances[0] < 0.02


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


DAMAGE: dict[str, Callable[[Path], None]] = {"flipped": _flip_middle, "truncated": _truncate, "garbage": _garbage}

# Run in a child process: usearch may segfault on a damaged graph, which must fail this test, not kill pytest.
_REOPEN_AND_SEARCH = """
import json, sys
import numpy as np
from pathlib import Path
from faceindex.store.indexes import CollectionIndexes
from faceindex.store.sqlite.store import SqliteStore
folder, queries = Path(sys.argv[1]), np.load(sys.argv[2])
store = SqliteStore(folder / "faceindex.db")
record = store.collection("people")
index = CollectionIndexes(store, folder / "indexes", "hnsw").get(record)
print(json.dumps([index.search(q, 1).keys.tolist() for q in queries]))
"""


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_a_damaged_hnsw_snapshot_is_rebuilt_not_loaded(tmp_path: Path, damage: str) -> None:
    store, record, vectors, folder = _saved(tmp_path, "hnsw")
    keys = store.descriptors(record)[1]
    store.close()
    DAMAGE[damage](folder / f"{record.row_id}.hnsw")
    picked = list(range(0, FACES, 10))
    np.save(tmp_path / "queries.npy", vectors[picked] + 0.001)
    child = subprocess.run(
        [sys.executable, "-c", _REOPEN_AND_SEARCH, str(tmp_path), str(tmp_path / "queries.npy")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-2000:]}"
    assert json.loads(child.stdout) == [[int(keys[i])] for i in picked]
    assert f"collection {record.row_id}" in child.stderr and "rebuilding" in child.stderr  # the warning reached stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_a_damaged_exact_snapshot_is_rebuilt(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    store, record, vectors, folder = _saved(tmp_path, "exact")
    DAMAGE[damage](folder / f"{record.row_id}.exact")
    with caplog.at_level(logging.WARNING, logger="faceindex.store"):
        _assert_searches_right(store, record, vectors, folder)
    assert any(f"collection {record.row_id}" in r.getMessage() for r in caplog.records if r.name == "faceindex.store")


@pytest.mark.parametrize(
    "meta",
    [
        "[]",
        "null",
        '"a string"',
        "{",
        '{"seq": "x"}',
        '{"format": 3, "seq": "x", "kind": "exact", "size": 300, "digest": "00"}',
        '{"format": 3, "seq": 1e400, "kind": "exact", "size": -1, "digest": null}',
        '{"format": 2, "seq": 300, "kind": "exact", "size": 300}',  # the previous format: rebuilt
    ],
)
def test_a_meta_file_that_is_not_a_snapshot_meta_is_rebuilt(
    tmp_path: Path, meta: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, record, vectors, folder = _saved(tmp_path, "exact")
    (folder / f"{record.row_id}.exact.json").write_text(meta)
    with caplog.at_level(logging.WARNING, logger="faceindex.store"):
        _assert_searches_right(store, record, vectors, folder)
    assert any("rebuilding" in r.getMessage() for r in caplog.records if r.name == "faceindex.store")


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_a_valid_snapshot_whose_vectors_are_not_the_databases_is_not_served(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The snapshot of another data folder with the same row ids, its descriptors shuffled: every
    checksum and count agrees, only a comparison with the database can tell."""
    store, record, vectors, folder = _saved(tmp_path / "real", kind)
    shuffled = vectors[np.random.default_rng(3).permutation(FACES)]
    other_store, other_record = _filled_store(tmp_path / "other.db", shuffled)
    other = CollectionIndexes(other_store, tmp_path / "other", kind)
    other.get(other_record)
    other.save()
    for path in (tmp_path / "other").iterdir():
        path.replace(folder / path.name)
    with caplog.at_level(logging.WARNING, logger="faceindex.store"):
        _assert_searches_right(store, record, vectors, folder)
    assert any("rebuilding" in r.getMessage() for r in caplog.records if r.name == "faceindex.store")


def test_an_intact_snapshot_is_loaded_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store, record, vectors, folder = _saved(tmp_path, "hnsw")
    with caplog.at_level(logging.WARNING, logger="faceindex.store"):
        index = CollectionIndexes(store, folder, "exact").get(record)
    assert index.kind == "hnsw"  # the snapshot's, not a rebuild of the kind asked for
    assert [r.getMessage() for r in caplog.records if r.name == "faceindex.store"] == []
    assert index.search(vectors[5], 1).keys[0] == store.descriptors(record)[1][5]


def test_snapshot_files_are_private_and_temp_names_unique(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    save = ExactIndex.save

    def recording_save(self: ExactIndex, path: Path) -> None:
        written.append(path.name)
        save(self, path)

    monkeypatch.setattr(ExactIndex, "save", recording_save)
    store, record, _, folder = _saved(tmp_path, "exact")
    CollectionIndexes(store, folder, "exact").save()  # nothing open: nothing written
    indexes = CollectionIndexes(store, folder, "exact")
    indexes.get(record)
    indexes.save()
    assert len(written) == 2 and written[0] != written[1]
    assert all(f".{os.getpid()}." in name and name.endswith(".tmp") for name in written)
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{record.row_id}.exact", f"{record.row_id}.exact.json"]
    assert {oct(p.stat().st_mode & 0o777) for p in folder.iterdir()} == {"0o600"}


def test_a_save_that_fails_leaves_the_last_snapshot_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store, record, _, folder = _saved(tmp_path, "exact")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    extra = _descriptors(1, seed=9)
    store.add_faces(record, [NewFace(BoundingBox(0.5, 0.5, 0.1, 0.1), 99.0, extra[0])], None, None, "dlib-v1")

    def disk_full(self: ExactIndex, path: Path) -> None:
        path.write_bytes(b"half a snapshot")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ExactIndex, "save", disk_full)
    indexes = CollectionIndexes(store, folder, "exact")
    indexes.get(record)
    with caplog.at_level(logging.WARNING, logger="faceindex.store"):
        indexes.save()  # does not raise: the database is the truth
    assert any(f"collection {record.row_id}" in r.getMessage() for r in caplog.records if r.name == "faceindex.store")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    monkeypatch.undo()
    index = CollectionIndexes(store, folder, "exact").get(record)  # the old snapshot, caught up
    assert len(index) == FACES + 1
    assert index.search(extra[0], 1).keys[0] == store.descriptors(record)[1][-1]


def test_a_server_restarted_on_a_damaged_snapshot_still_finds_faces(
    tmp_path: Path, cache: Path, testdata: Path
) -> None:
    data_dir = tmp_path / "data"
    live = start_server(data_dir, cache, {"FACEINDEX_VECTOR_INDEX": "hnsw"})
    client = live.client(live.new_key())
    client.create_collection(CollectionId="kept")
    for name in ("obama/1.jpg", "biden/1.jpg"):
        client.index_faces(CollectionId="kept", Image={"Bytes": (testdata / "faces" / name).read_bytes()})
    query = {"Bytes": (testdata / "faces/obama/2.jpg").read_bytes()}
    first = client.search_faces_by_image(CollectionId="kept", Image=query)["FaceMatches"]
    assert live.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    (snapshot,) = (data_dir / "indexes").glob("*.hnsw")
    _flip_middle(snapshot)
    again = start_server(data_dir, cache, {"FACEINDEX_VECTOR_INDEX": "hnsw"})
    try:
        client = again.client(again.new_key())
        found = client.search_faces_by_image(CollectionId="kept", Image=query)["FaceMatches"]
        assert [m["Face"]["FaceId"] for m in found] == [m["Face"]["FaceId"] for m in first] and len(found) == 1
        assert "rebuilding" in again.log()
    finally:
        assert again.stop(signal.SIGTERM) in (0, -signal.SIGTERM)


def test_temp_files_of_a_killed_save_are_swept_and_deleted_with_the_collection(tmp_path: Path) -> None:
    store, record, _, folder = _saved(tmp_path, "exact")
    dead = folder / f"{record.row_id}.exact.{2**22 + 1}.0f0f.tmp"  # above any pid_max: no such process
    writing = folder / f"{record.row_id}.exact.{os.getpid()}.abab.tmp"  # a save in progress here
    other = folder / f"{record.row_id + 10}.exact.{2**22 + 1}.0f0f.tmp"  # another collection's
    for path in (dead, writing, other):
        path.write_bytes(b"descriptors")
    indexes = CollectionIndexes(store, folder, "exact")
    indexes.get(record)
    indexes.save()
    assert not dead.exists() and writing.exists() and other.exists()
    store.delete_collection("people")
    indexes.forget(record)
    assert sorted(p.name for p in folder.iterdir()) == [other.name]
