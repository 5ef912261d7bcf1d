"""One contract, every VectorIndex implementation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceindex.store.base import Keys, VectorIndex, Vectors
from faceindex.store.index import make_index
from faceindex.store.index.hnsw import HnswIndex

KINDS = ["exact", "hnsw", "hnsw+rerank"]


class RerankedHnsw(HnswIndex):
    """HNSW whose candidates are re-ranked from exact vectors, as the store wires it."""

    def __init__(self) -> None:
        super().__init__(128, exact_vectors=self._lookup)
        self._truth: dict[int, np.ndarray] = {}

    def add(self, keys: Keys, vectors: Vectors, threads: int = 0) -> None:
        super().add(keys, vectors, threads)
        self._truth.update(zip(np.asarray(keys).tolist(), np.asarray(vectors, np.float32), strict=True))

    def remove(self, keys: Keys) -> None:
        super().remove(keys)
        for key in np.asarray(keys).tolist():
            self._truth.pop(key, None)

    def _lookup(self, keys: Keys) -> tuple[Keys, Vectors]:
        found = [int(k) for k in keys if int(k) in self._truth]
        vectors = np.array([self._truth[k] for k in found], np.float32).reshape(len(found), 128)
        return np.array(found, np.int64), vectors


def _data(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Descriptor-like vectors: identities ~0.85 apart, five photos of each ~0.37 apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.048, (max(1, count // 5), 128))
    vectors = centres[np.arange(count) % len(centres)] + rng.normal(0, 0.023, (count, 128))
    return np.arange(100, 100 + count, dtype=np.int64), vectors.astype(np.float32)


@pytest.fixture(params=KINDS)
def index(request: pytest.FixtureRequest) -> VectorIndex:
    return RerankedHnsw() if request.param == "hnsw+rerank" else make_index(request.param, 128)


def test_search_returns_nearest_first_with_euclidean_distances(index: VectorIndex) -> None:
    keys, vectors = _data(500)
    index.add(keys, vectors)
    assert len(index) == 500
    query = vectors[42] + 0.001
    found = index.search(query, 5)
    assert found.keys[0] == keys[42]
    assert np.all(np.diff(found.distances) >= -1e-4)
    expected = np.linalg.norm(vectors[found.keys - 100] - query, axis=1)
    # int8 graph distances are approximate; exact and re-ranked ones are not
    np.testing.assert_allclose(found.distances, expected, atol=6e-3 if index.kind == "hnsw" else 1e-5)


def test_recall_matches_exact_search(index: VectorIndex) -> None:
    keys, vectors = _data(2000, seed=1)
    index.add(keys, vectors)
    exact = make_index("exact", 128)
    exact.add(keys, vectors)
    noise = np.random.default_rng(2).normal(0, 0.023, (50, 128)).astype(np.float32)
    queries = vectors[::40] + noise  # new photos of stored people, as searches are
    hits = sum(index.search(q, 1).keys[0] == exact.search(q, 1).keys[0] for q in queries)
    assert hits >= 49


def test_remove_and_replace(index: VectorIndex) -> None:
    keys, vectors = _data(50)
    index.add(keys, vectors)
    index.remove(np.array([keys[0], keys[10], 999_999]))
    assert len(index) == 48
    assert keys[0] not in index and keys[10] not in index and keys[11] in index
    assert keys[0] not in index.search(vectors[0], 48).keys
    index.add(keys[11:12], vectors[20:21])  # replace the vector of an existing key
    assert len(index) == 48
    assert index.search(vectors[20], 2).keys.tolist() in ([keys[11], keys[20]], [keys[20], keys[11]])


def test_empty_index_and_oversized_requests(index: VectorIndex) -> None:
    assert len(index.search(np.zeros(128, np.float32), 10).keys) == 0
    keys, vectors = _data(3)
    index.add(keys, vectors)
    assert sorted(index.search(vectors[0], 100).keys.tolist()) == keys.tolist()


def test_save_and_load_round_trip(index: VectorIndex, tmp_path: Path) -> None:
    keys, vectors = _data(300)
    index.add(keys, vectors)
    path = tmp_path / "index.bin"
    index.save(path)
    again = RerankedHnsw() if isinstance(index, RerankedHnsw) else make_index(index.kind, 128)
    again.load(path)
    if isinstance(index, RerankedHnsw) and isinstance(again, RerankedHnsw):
        again._truth = index._truth  # the store outlives a snapshot
    assert len(again) == 300
    assert again.search(vectors[7], 1).keys[0] == keys[7]


def test_hnsw_search_breadth_grows_with_the_collection() -> None:
    from faceindex.store.index.hnsw import BREADTH_BY_SIZE

    index = HnswIndex(128)
    assert index.expansion_search == BREADTH_BY_SIZE[0][1]
    index.expansion_search = 40
    assert index.expansion_search == 40
    keys, vectors = _data(100)
    index.add(keys, vectors)
    assert index.search(vectors[3], 1).keys[0] == keys[3]


def _fresh(index: VectorIndex) -> VectorIndex:
    return RerankedHnsw() if isinstance(index, RerankedHnsw) else make_index(index.kind, 128)


def test_a_truncated_snapshot_is_refused_with_value_error(index: VectorIndex, tmp_path: Path) -> None:
    keys, vectors = _data(300)
    index.add(keys, vectors)
    path = tmp_path / "index.bin"
    index.save(path)
    assert path.stat().st_mode & 0o777 == 0o600  # descriptors are biometric data
    path.write_bytes(path.read_bytes()[:-100])
    again = _fresh(index)
    with pytest.raises(ValueError):
        again.load(path)
    assert len(again) == 0


def test_agrees_with_compares_a_spread_of_keys_with_the_truth(index: VectorIndex) -> None:
    keys, vectors = _data(300)
    assert index.agrees_with(lambda k: (k[:0], vectors[:0]), 32)  # empty: nothing to disagree with
    index.add(keys, vectors)
    index.remove(keys[::3])  # holes where rows were removed
    held = dict(zip(keys.tolist(), vectors, strict=True))

    def truth(wanted: Keys, shift: float = 0.0, drop: int | None = None) -> tuple[Keys, Vectors]:
        found = np.array([k for k in wanted.tolist() if k != drop], np.int64)
        return found, np.array([held[k] + shift for k in found.tolist()], np.float32).reshape(len(found), 128)

    assert index.agrees_with(truth, 32)
    assert not index.agrees_with(lambda k: truth(k, shift=0.05), 32)  # other vectors under the same keys
    assert not index.agrees_with(lambda k: truth(k, drop=int(k[0])), 32)  # a key the truth does not have
    shuffled = vectors[np.random.default_rng(4).permutation(300)]
    assert not index.agrees_with(lambda k: (k, shuffled[k - 100]), 32)
