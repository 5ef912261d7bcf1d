"""Exact nearest neighbours with NumPy: a dense matrix, swap-delete on removal."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from faceindex.store.base import ExactVectors, Keys, Neighbours, Vectors
from faceindex.store.index.checked import SnapshotRejected, read_checked, spread, write_checked


class ExactIndex:
    kind = "exact"

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self._vectors = np.zeros((0, ndim), np.float32)
        self._keys = np.zeros(0, np.int64)
        self._norms = np.zeros(0, np.float32)
        self._row_of: dict[int, int] = {}

    def add(self, keys: Keys, vectors: Vectors) -> None:
        keys = np.asarray(keys, np.int64)
        vectors = np.asarray(vectors, np.float32).reshape(len(keys), self.ndim)
        self.remove(keys[np.isin(keys, self._keys)])
        start = len(self._keys)
        self._vectors = np.concatenate([self._vectors, vectors])
        self._keys = np.concatenate([self._keys, keys])
        self._norms = np.concatenate([self._norms, np.einsum("ij,ij->i", vectors, vectors)])
        for offset, key in enumerate(keys.tolist()):
            self._row_of[key] = start + offset

    def remove(self, keys: Keys) -> None:
        for key in np.asarray(keys, np.int64).tolist():
            row = self._row_of.pop(key, None)
            if row is None:
                continue
            last = len(self._keys) - 1
            if row != last:  # move the last row into the hole
                moved = int(self._keys[last])
                self._vectors[row], self._keys[row], self._norms[row] = (
                    self._vectors[last],
                    self._keys[last],
                    self._norms[last],
                )
                self._row_of[moved] = row
            self._vectors, self._keys, self._norms = self._vectors[:last], self._keys[:last], self._norms[:last]

    def search(self, query: Vectors, count: int) -> Neighbours:
        if not len(self._keys) or count <= 0:
            return Neighbours(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = np.asarray(query, np.float32).reshape(self.ndim)
        squared = self._norms - 2.0 * (self._vectors @ q) + float(q @ q)
        count = min(count, len(squared))
        nearest = np.argpartition(squared, count - 1)[:count] if count < len(squared) else np.arange(len(squared))
        nearest = nearest[np.argsort(squared[nearest], kind="stable")]
        distances = np.sqrt(np.maximum(squared[nearest], 0.0)).astype(np.float32)
        return Neighbours(self._keys[nearest].copy(), distances)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: int) -> bool:
        return int(key) in self._row_of

    def agrees_with(self, truth: ExactVectors, count: int) -> bool:
        keys = self._keys[spread(len(self._keys), count)]
        if not len(keys):
            return True
        found, vectors = truth(keys)
        if not np.array_equal(np.sort(found), np.sort(keys)):
            return False
        rows = [self._row_of[int(key)] for key in np.asarray(found).tolist()]
        return bool(np.array_equal(self._vectors[rows], np.asarray(vectors, np.float32)))

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, keys=self._keys, vectors=self._vectors)
        write_checked(path, [buffer.getbuffer()])

    def load(self, path: Path) -> None:
        payload = read_checked(path)  # verified before NumPy parses a byte
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise SnapshotRejected(f"not an exact index ({type(error).__name__})") from error
        if keys.dtype != np.int64 or keys.ndim != 1 or len(np.unique(keys)) != len(keys):
            raise SnapshotRejected("keys are not distinct int64 values")
        if vectors.dtype != np.float32 or vectors.shape != (len(keys), self.ndim):
            raise SnapshotRejected(f"vectors are not {len(keys)} x {self.ndim} float32")
        self.__init__(self.ndim)  # type: ignore[misc]
        self.add(keys, vectors)
