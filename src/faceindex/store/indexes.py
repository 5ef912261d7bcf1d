"""Per-collection vector indexes kept in step with the database.

An index is a cache "as of change N" of the `changes` log. Before every search it applies the
changes after N, so writers in this or any other process are seen at once. Snapshots on disk
(`<data>/indexes/<collection row id>.<kind>` + `.json`) make start-up fast, and are never trusted:
the data file's checksum must match its header and its meta before it is parsed, the meta must be
well formed and not ahead of the database, and once caught up the index must hold as many faces as
the database, with a spread of them holding the database's vectors. Anything else is logged and the
index rebuilt from the rows. Saving is best effort too: a failed snapshot is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceindex.store import index as index_module
from faceindex.store.base import Store, VectorIndex
from faceindex.store.index import make_index
from faceindex.store.index.checked import (
    FORMAT,
    SnapshotRejected,
    digest_of,
    leftover_temp_files,
    replace_atomically,
    write_private,
)
from faceindex.store.records import CollectionRecord

DESCRIPTOR_SIZE = 128
KINDS = ("exact", "hnsw")
SPOT_CHECK = 32  # faces of a loaded snapshot compared with the database
MAX_META_BYTES = 4096
LOG = logging.getLogger("faceindex.store")


@dataclass
class _Cached:
    index: VectorIndex
    seq: int
    lock: threading.Lock = field(default_factory=threading.Lock)


class CollectionIndexes:
    def __init__(self, store: Store, snapshot_dir: Path | None, kind: str = "auto") -> None:
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
            self._catch_up(collection, cached)
            if (
                self._kind == "auto"
                and cached.index.kind == "exact"
                and len(cached.index) >= index_module.HNSW_THRESHOLD
            ):
                # the collection grew past the threshold while open: move to a graph now, once
                cached.index, cached.seq = self._build(collection, "hnsw")
            return cached.index

    def _catch_up(self, collection: CollectionRecord, cached: _Cached) -> None:
        """Apply the change-log entries after the change number `cached` reflects."""
        seq, changes = self._store.changes_since(collection, cached.seq)
        for row_id, descriptor in changes:
            if descriptor is None:
                cached.index.remove(np.array([row_id]))
            else:
                cached.index.add(np.array([row_id]), descriptor[None])
        cached.seq = seq

    def forget(self, collection: CollectionRecord) -> None:
        """Drop a deleted collection's index and snapshot (with any temp file a crashed save left)."""
        with self._lock:
            self._cache.pop(collection.row_id, None)
        if self._dir is None:
            return
        for path in [*self._snapshot_paths(collection), *leftover_temp_files(self._dir, collection.row_id)]:
            path.unlink(missing_ok=True)

    def expunge(self, collection: CollectionRecord) -> None:
        """After faces were deleted: bring the collection's index up to date and rewrite its snapshot, so
        the deleted descriptors are in no file (a snapshot left as it was would hold them until shutdown)."""
        if self._dir is None or not any(path.exists() for path in self._snapshot_paths(collection)):
            if collection.row_id in self._cache:
                self.get(collection)
            return
        self.get(collection)
        with self._lock:
            cached = self._cache[collection.row_id]
        with cached.lock:
            self._save_one(collection.row_id, cached)

    def save(self) -> None:
        """Write a snapshot of every index in memory. Never raises: the database is the truth, and a
        snapshot that cannot be written (a full disk) only makes the next start-up rebuild."""
        if self._dir is None:
            return
        with self._lock:
            items = list(self._cache.items())
        for row_id, cached in items:
            with cached.lock:
                try:
                    self._save_one(row_id, cached)
                except Exception as error:  # a cache: whatever failed, shutdown goes on
                    LOG.warning(
                        f"snapshot of collection {row_id} not saved ({_reason(error)}); it will be rebuilt",
                        extra={"fields": {"collection": row_id, "reason": _reason(error)}},
                    )

    def _save_one(self, row_id: int, cached: _Cached) -> None:
        """The data file, then the meta that names its checksum (each atomically, 0600): a crash or
        failure between the two leaves a pair that disagrees, which the next load refuses."""
        assert self._dir is not None
        self._dir.mkdir(parents=True, exist_ok=True)
        kind = cached.index.kind
        data, meta = self._snapshot_paths_for(row_id, kind)

        def write_data(temp: Path) -> str:
            cached.index.save(temp)
            return digest_of(temp)

        for leftover in leftover_temp_files(self._dir, row_id, dead_only=True):
            leftover.unlink(missing_ok=True)  # a process killed while saving: its temp would stay forever
        digest = replace_atomically(data, write_data)
        document = {"format": FORMAT, "seq": cached.seq, "kind": kind, "size": len(cached.index)}
        text = json.dumps({**document, "digest": digest}).encode()
        replace_atomically(meta, lambda temp: write_private(temp, [text]))
        for other in KINDS:  # a collection that moved to a graph leaves no older exact snapshot behind
            if other != kind:
                for path in self._snapshot_paths_for(row_id, other):
                    path.unlink(missing_ok=True)

    def _open(self, collection: CollectionRecord) -> _Cached:
        loaded = self._load_snapshot(collection)
        if loaded is not None:
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
        """The first snapshot that passes every check, caught up with the database; None: rebuild."""
        if self._dir is None:
            return None
        for kind in KINDS:
            data, meta = self._snapshot_paths_for(collection.row_id, kind)
            if not data.exists() and not meta.exists():
                continue
            try:
                return self._load_checked(collection, kind, data, meta)
            except Exception as error:  # a snapshot is a cache: whatever is wrong with it, rebuild
                reason = _reason(error)
                LOG.warning(
                    f"snapshot {data.name} of collection {collection.row_id} not used ({reason});"
                    " rebuilding from the database",
                    extra={"fields": {"collection": collection.row_id, "snapshot": data.name, "reason": reason}},
                )
        return None

    def _load_checked(self, collection: CollectionRecord, kind: str, data: Path, meta_path: Path) -> _Cached:
        meta = _read_meta(meta_path, kind)
        if meta["seq"] > self._store.last_change(collection):
            raise SnapshotRejected("ahead of the database (a restored backup?)")
        if digest_of(data) != meta["digest"]:
            raise SnapshotRejected("its data file is not the one its meta describes")
        index = make_index(kind, DESCRIPTOR_SIZE, exact_vectors=self._store.descriptors_by_row)
        index.load(data)  # verifies the payload's checksum before parsing it
        if len(index) != meta["size"]:
            raise SnapshotRejected(f"{len(index)} faces, its meta says {meta['size']}")
        cached = _Cached(index, meta["seq"])
        self._catch_up(collection, cached)
        expected = self._store.count_faces(collection)
        if len(index) != expected:
            raise SnapshotRejected(f"{len(index)} faces once caught up, the database has {expected}")
        if not index.agrees_with(self._store.descriptors_by_row, SPOT_CHECK):
            raise SnapshotRejected("its vectors are not the database's")
        return cached

    def _snapshot_paths(self, collection: CollectionRecord) -> list[Path]:
        return [p for kind in KINDS for p in self._snapshot_paths_for(collection.row_id, kind)]

    def _snapshot_paths_for(self, row_id: int, kind: str) -> tuple[Path, Path]:
        assert self._dir is not None
        return self._dir / f"{row_id}.{kind}", self._dir / f"{row_id}.{kind}.json"


def _read_meta(path: Path, kind: str) -> dict[str, Any]:
    """A snapshot's meta, checked member by member: the file is ours, but may be damaged or stale."""
    with path.open("rb") as handle:
        text = handle.read(MAX_META_BYTES + 1)
    if len(text) > MAX_META_BYTES:
        raise SnapshotRejected("meta is too large")
    try:
        meta = json.loads(text)
    except ValueError as error:
        raise SnapshotRejected("meta is not JSON") from error
    if not isinstance(meta, dict):
        raise SnapshotRejected("meta is not a JSON object")
    version = meta.get("format")
    if not _is_count(version):
        raise SnapshotRejected("meta names no format")
    if version != FORMAT:
        raise SnapshotRejected(f"format {version}, not {FORMAT}")
    if meta.get("kind") != kind:
        raise SnapshotRejected(f"meta is not of an {kind} index")
    if not (_is_count(meta.get("seq")) and _is_count(meta.get("size"))):
        raise SnapshotRejected("meta's seq and size are not counts")
    digest = meta.get("digest")
    if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise SnapshotRejected("meta names no SHA-256")
    return meta


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _reason(error: BaseException) -> str:
    """What went wrong, for the log: our own messages in full, others by type only (a library's
    message might quote what it read)."""
    if isinstance(error, SnapshotRejected):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__
