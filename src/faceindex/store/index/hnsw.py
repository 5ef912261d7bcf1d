"""Approximate nearest neighbours: usearch's HNSW graph, vectors stored as float16."""

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
        self._index.add(keys, np.asarray(vectors, np.float32).reshape(len(keys), self.ndim))

    def remove(self, keys: Keys) -> None:
        present = [int(k) for k in np.asarray(keys, np.int64).tolist() if int(k) in self._index]
        if present:
            self._index.remove(np.asarray(present, np.uint64))

    def search(self, query: Vectors, count: int) -> Neighbours:
        if len(self._index) == 0 or count <= 0:
            return Neighbours(np.zeros(0, np.int64), np.zeros(0, np.float32))
        # ask for a few more: the graph search is approximate and the caller filters
        matches = self._index.search(np.asarray(query, np.float32).reshape(self.ndim), min(count, len(self._index)))
        keys = np.asarray(matches.keys, np.int64)
        distances = np.sqrt(np.maximum(np.asarray(matches.distances, np.float32), 0.0))
        return Neighbours(keys, distances.astype(np.float32))

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: int) -> bool:
        return int(key) in self._index

    def save(self, path: Path) -> None:
        self._index.save(str(path))

    def load(self, path: Path) -> None:
        self._index.load(str(path))
