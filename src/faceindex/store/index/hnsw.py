"""Approximate nearest neighbours: usearch's HNSW graph, vectors stored as float16.

dlib descriptors share a large common component (their mean has norm ~1.3, their spread per
dimension is ~0.05). Stored as is, float16 rounding of that component swamps the differences
between faces; so vectors are stored minus a fixed centre (the mean of the first batch added).
Euclidean distances do not change under a shift; recall@1 at 100k faces went from 0.97 to 0.99.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from usearch.index import Index

from faceindex.store.base import Keys, Neighbours, Vectors

CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64


class HnswIndex:
    kind = "hnsw"

    def __init__(self, ndim: int, expansion_search: int = EXPANSION_SEARCH) -> None:
        self.ndim = ndim
        self._centre: np.ndarray | None = None
        self._index = Index(
            ndim=ndim,
            metric="l2sq",
            dtype="f16",  # dlib descriptors span about +-0.4: f16 keeps ~1e-4 precision, half the memory
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=expansion_search,
        )

    def add(self, keys: Keys, vectors: Vectors) -> None:
        keys = np.asarray(keys, np.uint64)
        if not len(keys):
            return
        present = np.array([int(k) in self._index for k in keys.tolist()], bool)
        if present.any():
            self._index.remove(keys[present])
        vectors = np.asarray(vectors, np.float32).reshape(len(keys), self.ndim)
        if self._centre is None:
            self._centre = vectors.mean(axis=0)
        self._index.add(keys, vectors - self._centre)

    def remove(self, keys: Keys) -> None:
        present = [int(k) for k in np.asarray(keys, np.int64).tolist() if int(k) in self._index]
        if present:
            self._index.remove(np.asarray(present, np.uint64))

    def search(self, query: Vectors, count: int) -> Neighbours:
        if len(self._index) == 0 or count <= 0:
            return Neighbours(np.zeros(0, np.int64), np.zeros(0, np.float32))
        # ask for a few more: the graph search is approximate and the caller filters
        centre = 0.0 if self._centre is None else self._centre
        centred = np.asarray(query, np.float32).reshape(self.ndim) - centre
        matches = self._index.search(centred, min(count, len(self._index)))
        keys = np.asarray(matches.keys, np.int64)
        distances = np.sqrt(np.maximum(np.asarray(matches.distances, np.float32), 0.0))
        return Neighbours(keys, distances.astype(np.float32))

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: int) -> bool:
        return int(key) in self._index

    def save(self, path: Path) -> None:
        """One file: the centre (ndim float32) then usearch's serialised graph."""
        centre = np.zeros(self.ndim, np.float32) if self._centre is None else self._centre
        graph = self._index.save()  # without a path usearch returns the bytes
        assert graph is not None
        path.write_bytes(centre.astype("<f4").tobytes() + bytes(graph))

    def load(self, path: Path) -> None:
        data = path.read_bytes()
        self._centre = np.frombuffer(data[: 4 * self.ndim], "<f4").astype(np.float32)
        self._index.load(data[4 * self.ndim :])
