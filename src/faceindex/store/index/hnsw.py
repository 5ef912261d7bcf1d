"""Approximate nearest neighbours: usearch's HNSW graph over int8 vectors, re-ranked exactly.

dlib descriptors share a large common component (their mean has norm ~1.3, their spread per
dimension is ~0.05). The graph stores each vector minus a fixed centre, scaled and rounded to int8
by us: usearch's own int8 conversion normalises vectors (it is made for cosine), which discards the
length that Euclidean distance needs. Int8 halves memory against float16 (~390 bytes a face with the
graph, so 20M faces fit in 8 GB) and keeps the graph's neighbourhoods; it does blur near-ties, so the
`count + RERANK_EXTRA` graph candidates are re-ranked with the exact float32 descriptors, read from
the source of truth through `exact_vectors` (the SQLite store). Without it, distances are the int8
approximations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from usearch.compiled import MetricKind, ScalarKind
from usearch.index import Index

from faceindex.store.base import ExactVectors, Keys, Neighbours, Vectors
from faceindex.store.index.checked import SnapshotRejected, read_checked, spread, write_checked

CONNECTIVITY = 16
EXPANSION_ADD = 128  # 64 builds twice as fast but recall@1 at 1M faces falls from 0.99 to 0.90
# search breadth by collection size, from bench/search.py: the narrowest that keeps recall@1 >= 0.99
# (1M faces: 256 gives 0.998; 10M: 512 gives 0.991; 20M: 512 gives 0.992 at p99 5 ms)
BREADTH_BY_SIZE = ((2_000_000, 256),)
WIDEST_BREADTH = 512
RERANK_EXTRA = 10
MIN_RANGE = 0.25  # |vector - centre| mapped onto +-127; never narrower than this


class HnswIndex:
    kind = "hnsw"

    def __init__(
        self, ndim: int, expansion_search: int | None = None, exact_vectors: ExactVectors | None = None
    ) -> None:
        self.ndim = ndim
        self.exact_vectors = exact_vectors
        self._breadth = expansion_search  # None: chosen by size (BREADTH_BY_SIZE)
        self._centre: np.ndarray | None = None
        self._scale = _float32(127.0 / MIN_RANGE)
        self._index = self._new_graph()
        self._erased: set[bytes] = set()  # int8 vectors removed since the last save, to zero in the snapshot

    def _new_graph(self) -> Index:
        return Index(
            ndim=self.ndim,
            metric="l2sq",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=self._breadth or BREADTH_BY_SIZE[0][1],
        )

    @property
    def expansion_search(self) -> int:
        """The search breadth: as set, or by the index's size."""
        if self._breadth is not None:
            return self._breadth
        return next((b for most, b in BREADTH_BY_SIZE if len(self._index) <= most), WIDEST_BREADTH)

    @expansion_search.setter
    def expansion_search(self, value: int | None) -> None:
        self._breadth = value

    def add(self, keys: Keys, vectors: Vectors, threads: int = 0) -> None:
        keys = np.asarray(keys, np.uint64)
        if not len(keys):
            return
        if len(self._index):
            present = np.array([int(k) in self._index for k in keys.tolist()], bool)
            if present.any():
                self._index.remove(keys[present])
        vectors = np.asarray(vectors, np.float32).reshape(len(keys), self.ndim)
        if self._centre is None:
            # fixed from the first batch (the whole collection when an index is built from the store)
            self._centre = vectors.mean(axis=0)
            width = float(np.percentile(np.abs(vectors - self._centre), 99.99))
            self._scale = _float32(127.0 / max(MIN_RANGE, 1.25 * width))
        self._index.add(keys, self._quantise(vectors), threads=threads)

    def _quantise(self, vectors: np.ndarray) -> np.ndarray:
        centre = 0.0 if self._centre is None else self._centre
        scaled = np.rint((vectors - centre) * self._scale)
        return np.clip(scaled, -127, 127).astype(np.int8)

    def remove(self, keys: Keys) -> None:
        present = [int(k) for k in np.asarray(keys, np.int64).tolist() if int(k) in self._index]
        if present:
            held = self._index.get(np.asarray(present, np.uint64))
            rows = held if isinstance(held, tuple) else [held]
            self._erased.update(bytes(np.asarray(v, np.int8).tobytes()) for v in rows if v is not None)
            self._index.remove(np.asarray(present, np.uint64))

    def search(self, query: Vectors, count: int) -> Neighbours:
        if len(self._index) == 0 or count <= 0:
            return Neighbours(np.zeros(0, np.int64), np.zeros(0, np.float32))
        query = np.asarray(query, np.float32).reshape(self.ndim)
        wanted = count + RERANK_EXTRA if self.exact_vectors is not None else count
        self._index.expansion_search = self.expansion_search  # type: ignore[misc]  # settable; the stub says not
        matches = self._index.search(self._quantise(query[None])[0], min(wanted, len(self._index)))
        keys = np.asarray(matches.keys, np.int64)
        if self.exact_vectors is None:
            squared = np.asarray(matches.distances, np.float32) / self._scale**2
            return Neighbours(keys, np.sqrt(np.maximum(squared, 0.0)).astype(np.float32))
        keys, vectors = self.exact_vectors(keys)
        distances = np.sqrt(np.einsum("ij,ij->i", vectors - query, vectors - query)).astype(np.float32)
        order = np.argsort(distances, kind="stable")[:count]
        return Neighbours(np.asarray(keys, np.int64)[order], distances[order])

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: int) -> bool:
        return int(key) in self._index

    def agrees_with(self, truth: ExactVectors, count: int) -> bool:
        keys = np.asarray(self._index.keys[spread(len(self._index), count)], np.int64)
        if not len(keys):
            return True
        found, vectors = truth(keys)
        if not np.array_equal(np.sort(found), np.sort(keys)):
            return False
        held = self._index.get(np.asarray(found, np.uint64))  # the int8 vectors as stored
        if not isinstance(held, tuple):
            return False
        rows = [vector for vector in held if vector is not None]
        expected = self._quantise(np.asarray(vectors, np.float32)).astype(np.int16)
        if len(rows) != len(expected):
            return False
        # one step of slack: a value exactly between two int8 steps may round either way
        return bool(np.abs(np.stack(rows).reshape(expected.shape) - expected).max() <= 1)

    def save(self, path: Path) -> None:
        """One checked file: the centre (ndim float32), the scale (float32), then usearch's serialised graph."""
        centre = np.zeros(self.ndim, np.float32) if self._centre is None else self._centre
        graph = self._index.save()  # without a path usearch returns the bytes
        assert graph is not None
        if self._erased:
            graph = self._scrubbed(graph)
        header = centre.astype("<f4").tobytes() + np.float32(self._scale).astype("<f4").tobytes()
        write_checked(path, [header, graph])

    def _scrubbed(self, graph: bytes) -> bytes:
        """The graph with removed faces' vectors zeroed: usearch keeps a removed node (vector included) as a
        tombstone that searches still step through, so without this an erased face's quantised descriptor
        would outlive it in every snapshot. A zeroed tombstone only steers a search slightly worse."""
        data = bytearray(graph)
        live = {bytes(v.tobytes()) for v in self._live_vectors()} if len(self._index) < LIVE_CHECK_LIMIT else set()
        for vector in self._erased - live:  # a live face with the very same vector keeps its bytes
            start = data.find(vector)
            while start != -1:
                data[start : start + len(vector)] = bytes(len(vector))
                start = data.find(vector, start + len(vector))
        self._erased.clear()
        return bytes(data)

    def _live_vectors(self) -> list[np.ndarray]:
        keys = np.asarray(self._index.keys, np.uint64)
        held = self._index.get(keys) if len(keys) else ()
        rows = held if isinstance(held, tuple) else [held]
        return [np.asarray(v, np.int8) for v in rows if v is not None]

    def load(self, path: Path) -> None:
        payload = read_checked(path)  # usearch can crash on damaged bytes: it only ever sees verified ones
        size = 4 * (self.ndim + 1)
        if len(payload) < size:
            raise SnapshotRejected("shorter than an HNSW header")
        header = np.frombuffer(payload[:size], "<f4").astype(np.float32)
        centre, scale = header[: self.ndim], float(header[self.ndim])
        if not np.isfinite(header).all() or scale <= 0:
            raise SnapshotRejected("the centre or scale is not finite and positive")
        graph = payload[size:]
        shape = Index.metadata(graph)
        expected = (self.ndim, ScalarKind.I8, MetricKind.L2sq)
        if not shape or (shape["dimensions"], shape["kind_scalar"], shape["kind_metric"]) != expected:
            raise SnapshotRejected(f"not a {self.ndim}-D int8 L2 graph")
        index = self._new_graph()
        index.load(graph)
        if len(index) != shape["count_present"]:
            raise SnapshotRejected(f"graph holds {len(index)} vectors, its header says {shape['count_present']}")
        # an empty graph's centre is a placeholder: the first vectors added fix the real one
        self._index, self._centre, self._scale = index, (centre if len(index) else None), scale


LIVE_CHECK_LIMIT = 2_000_000  # above this, identical vectors of other faces are not looked for (scrubbed too)


def _float32(value: float) -> float:
    """`value` as float32 holds it: the scale is saved as float32, and quantising after a load must
    give the vectors quantised before it."""
    return float(np.float32(value))
