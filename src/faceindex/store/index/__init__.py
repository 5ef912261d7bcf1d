"""Vector index implementations behind `store.base.VectorIndex`."""

from __future__ import annotations

from faceindex.store.base import ExactVectors, VectorIndex
from faceindex.store.index.exact import ExactIndex
from faceindex.store.index.hnsw import HnswIndex

HNSW_THRESHOLD = 50_000  # below this many faces exact search is as fast and needs no graph


def make_index(kind: str, ndim: int, expected_size: int = 0, exact_vectors: ExactVectors | None = None) -> VectorIndex:
    """`kind`: exact | hnsw | auto (exact below HNSW_THRESHOLD faces). `exact_vectors` lets an
    approximate index re-rank its candidates with the stored float32 descriptors."""
    if kind == "auto":
        kind = "hnsw" if expected_size >= HNSW_THRESHOLD else "exact"
    if kind == "exact":
        return ExactIndex(ndim)
    if kind == "hnsw":
        return HnswIndex(ndim, exact_vectors=exact_vectors)
    raise ValueError(f"unknown vector index kind {kind!r}")
