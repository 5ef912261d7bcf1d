"""The storage protocols. SQL rows are the source of truth; a VectorIndex is a rebuildable cache.

A VectorIndex maps integer keys (the faces' row ids) to 128-D descriptors and answers nearest-
neighbour queries in squared Euclidean distance. Implementations: `index.exact` (NumPy, exact)
and `index.hnsw` (usearch HNSW over int8, re-ranked exactly). `tests/contract/` runs one suite against each of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
ExactVectors = Callable[[Keys], tuple[Keys, Vectors]]  # keys -> (keys found, their float32 vectors)


@dataclass(frozen=True)
class Neighbours:
    keys: Keys  # nearest first
    distances: npt.NDArray[np.float32]  # Euclidean (not squared)


class VectorIndex(Protocol):
    kind: str

    def add(self, keys: Keys, vectors: Vectors) -> None:
        """Add or replace the vectors of `keys`."""

    def remove(self, keys: Keys) -> None:
        """Remove `keys`; unknown keys are ignored."""

    def search(self, query: Vectors, count: int) -> Neighbours:
        """The `count` nearest stored vectors to one query vector."""

    def __len__(self) -> int: ...

    def __contains__(self, key: int) -> bool: ...

    def agrees_with(self, truth: ExactVectors, count: int) -> bool:
        """Whether `count` of its keys, spread over it, are in `truth` with the vectors it holds for
        them (as it holds them): the spot check of a snapshot just loaded."""

    def save(self, path: Path) -> None:
        """A snapshot file (0600) whose checksum `load` verifies before parsing it."""

    def load(self, path: Path) -> None:
        """Replace the contents with a snapshot's; a damaged one raises ValueError."""
