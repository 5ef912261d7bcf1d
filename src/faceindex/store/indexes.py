"""Per-collection vector indexes kept in step with the database.

An index is a cache "as of change N" of the `changes` log. Before every search it applies the
changes after N, so writers in this or any other process are seen at once. Snapshots on disk
(`<data>/indexes/<collection row id>.<kind>` + `.json`) make start-up fast; one whose change
number is ahead of the database, or whose size disagrees with it after catching up, is rebuilt.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceindex.store import index as index_module
from faceindex.store.base import VectorIndex
from faceindex.store.index import make_index
from faceindex.store.records import CollectionRecord
from faceindex.store.sqlite.store import SqliteStore

DESCRIPTOR_SIZE = 128
SNAPSHOT_FORMAT = 2  # 2: HNSW graphs hold int8 vectors (1 held float16)


@dataclass
class _Cached:
    index: VectorIndex
    seq: int
    lock: threading.Lock = field(default_factory=threading.Lock)


class CollectionIndexes:
    def __init__(self, store: SqliteStore, snapshot_dir: Path | None, kind: str = "auto") -> None:
        self._store = store
        self._dir = snapshot_dir
        self._kind = kind
        self._cache: dict[int, _Cached] = {}
        self._lock = threading.Lock()

    def get(self, collection: CollectionRecord) -> VectorIndex:
        """The collection's index, up to date with every committed write."""
        with self._lock:
            cached = self._cache.get(collection.row_id)
            if cached is None:
                cached = self._cache[collection.row_id] = self._open(collection)
        with cached.lock:
            seq, changes = self._store.changes_since(collection, cached.seq)
            for row_id, descriptor in changes:
                if descriptor is None:
                    cached.index.remove(np.array([row_id]))
                else:
                    cached.index.add(np.array([row_id]), descriptor[None])
            cached.seq = seq
            if (
                self._kind == "auto"
                and cached.index.kind == "exact"
                and len(cached.index) >= index_module.HNSW_THRESHOLD
            ):
                # the collection grew past the threshold while open: move to a graph now, once
                cached.index, cached.seq = self._build(collection, "hnsw")
            return cached.index

    def forget(self, collection: CollectionRecord) -> None:
        """Drop a deleted collection's index and snapshot."""
        with self._lock:
            self._cache.pop(collection.row_id, None)
        for path in self._snapshot_paths(collection):
            path.unlink(missing_ok=True)

    def save(self) -> None:
        """Write a snapshot of every index in memory (atomically: files then the meta that names them)."""
        if self._dir is None:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            items = list(self._cache.items())
        for row_id, cached in items:
            with cached.lock:
                data, meta = self._snapshot_paths_for(row_id, cached.index.kind)
                temp = data.with_suffix(data.suffix + ".tmp")
                cached.index.save(temp)
                temp.replace(data)
                meta.write_text(
                    json.dumps(
                        {
                            "format": SNAPSHOT_FORMAT,
                            "seq": cached.seq,
                            "kind": cached.index.kind,
                            "size": len(cached.index),
                        }
                    )
                )

    def _open(self, collection: CollectionRecord) -> _Cached:
        loaded = self._load_snapshot(collection)
        if loaded is not None:
            seq, changes = self._store.changes_since(collection, loaded.seq)
            expected = self._store.count_faces(collection)
            net = sum(1 if d is not None else -1 for _, d in changes)
            if len(loaded.index) + net == expected:
                return loaded
        index, seq = self._build(collection, self._kind)
        return _Cached(index, seq)

    def _build(self, collection: CollectionRecord, kind: str) -> tuple[VectorIndex, int]:
        """A new index of `kind` from every descriptor in the store, and the change number it is as of."""
        seq, keys, vectors = self._store.descriptors(collection)
        index = make_index(kind, DESCRIPTOR_SIZE, len(keys), self._store.descriptors_by_row)
        if len(keys):
            index.add(keys, vectors)
        return index, seq

    def _load_snapshot(self, collection: CollectionRecord) -> _Cached | None:
        if self._dir is None:
            return None
        for kind in ("exact", "hnsw"):
            data, meta_path = self._snapshot_paths_for(collection.row_id, kind)
            try:
                meta = json.loads(meta_path.read_text())
                if meta.get("format") != SNAPSHOT_FORMAT:
                    return None
                if meta["seq"] > self._store.last_change(collection):
                    return None  # the database is older than the snapshot (restored backup)
                index = make_index(kind, DESCRIPTOR_SIZE, exact_vectors=self._store.descriptors_by_row)
                index.load(data)
                if len(index) != meta["size"]:
                    return None
                return _Cached(index, int(meta["seq"]))
            except (OSError, ValueError, KeyError, RuntimeError):
                continue
        return None

    def _snapshot_paths(self, collection: CollectionRecord) -> list[Path]:
        return [p for kind in ("exact", "hnsw") for p in self._snapshot_paths_for(collection.row_id, kind)]

    def _snapshot_paths_for(self, row_id: int, kind: str) -> tuple[Path, Path]:
        assert self._dir is not None
        return self._dir / f"{row_id}.{kind}", self._dir / f"{row_id}.{kind}.json"
