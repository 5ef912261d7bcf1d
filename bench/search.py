"""Search at scale: faceindex's vector indexes against faiss-cpu, same vectors, same queries, one run.

    .venv/bin/python bench/search.py --sizes 100000 1000000 [10000000 20000000] [--out …]

Synthetic descriptors behave like dlib's: identities are points around a common mean (|mean| ~1.31,
as in real descriptors), photos of an identity add per-photo noise; the spreads are set so that
same-person and different-person distances match those measured on the test photos (mean 0.37 and
0.85). Queries are new photos of stored identities, plus the real descriptors of the test photos.

Per size and index: build time, resident memory per face, single-query p50/p99 latency and
recall@1 / recall@10 against exact search (faiss IndexFlatL2), for a sweep of the HNSW search
breadth, so that latency can be compared at equal recall.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import faiss  # noqa: E402
import usearch  # noqa: E402

from faceindex.store.index.exact import ExactIndex  # noqa: E402
from faceindex.store.index.hnsw import CONNECTIVITY, EXPANSION_ADD, HnswIndex  # noqa: E402

DIM = 128
PHOTOS_PER_IDENTITY = 5
CENTRE_SPREAD = 0.048  # per dimension: different people ~0.85 apart
PHOTO_NOISE = 0.023  # per dimension: photos of one person ~0.37 apart
MEAN_NORM = 1.31
BREADTHS = [16, 32, 64, 128, 256, 512]


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def synthetic(count: int, queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=DIM)
    mean = (mean / np.linalg.norm(mean) * MEAN_NORM).astype(np.float32)
    identities = max(1, count // PHOTOS_PER_IDENTITY)
    vectors = np.empty((count, DIM), np.float32)
    chunk = 1_000_000
    centres_seed = int(rng.integers(1 << 31))
    for start in range(0, count, chunk):  # chunked to keep peak memory near the final array
        stop = min(count, start + chunk)
        ids = np.arange(start, stop) % identities
        centres = _centres(ids, centres_seed)
        vectors[start:stop] = mean + centres + rng.normal(0, PHOTO_NOISE, (stop - start, DIM)).astype(np.float32)
    query_ids = rng.integers(0, identities, queries)
    query_vectors = mean + _centres(query_ids, centres_seed) + rng.normal(0, PHOTO_NOISE, (queries, DIM))
    return vectors, query_vectors.astype(np.float32)


def _centres(ids: np.ndarray, seed: int) -> np.ndarray:
    """Identity centres from a hash of the id, so any chunk can be made without storing them all."""
    out = np.empty((len(ids), DIM), np.float32)
    for offset in range(0, len(ids), 100_000):
        part = ids[offset : offset + 100_000]
        rng = np.random.default_rng(seed)
        basis = rng.normal(0, CENTRE_SPREAD, (4096, DIM)).astype(np.float32)
        # each identity: a signed sum of 4 basis rows chosen by its id (cheap, distinct, right spread)
        idx = (part[:, None] * np.array([2654435761, 40503, 69069, 1103515245]) >> 7) % 4096
        signs = np.where(((part[:, None] >> np.arange(4)) & 1) == 1, 1.0, -1.0).astype(np.float32)
        out[offset : offset + len(part)] = (basis[idx] * signs[:, :, None]).sum(axis=1) / 2.0
    return out


def timed_queries(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    results, latencies = [], []
    for q in queries:
        started = time.perf_counter()
        keys = search(q)
        latencies.append(time.perf_counter() - started)
        results.append(np.pad(keys[:10], (0, 10 - len(keys[:10])), constant_values=-1))
    return np.array(results), latencies


def scores(found: np.ndarray, truth: np.ndarray, latencies: list[float], synthetic: int) -> dict[str, float]:
    """Recall on the synthetic queries (new photos of stored people) and, apart, on the real ones:
    a real test face has no photo of its person among synthetic faces, so its 'nearest' is one of
    many almost equidistant strangers, which no approximate index is expected to pick exactly."""

    def recall(rows: slice) -> tuple[float, float]:
        f, t = found[rows], truth[rows]
        if not len(f):
            return float("nan"), float("nan")
        at1 = float(np.mean(f[:, 0] == t[:, 0]))
        at10 = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(f, t, strict=True)]))
        return at1, at10

    (r1, r10), (real1, real10) = recall(slice(0, synthetic)), recall(slice(synthetic, None))
    ms = np.array(latencies) * 1000
    return {
        "recall@1": round(r1, 4),
        "recall@10": round(r10, 4),
        "real_queries_recall@1": round(real1, 4),
        "real_queries_recall@10": round(real10, 4),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def real_queries(testdata: Path) -> np.ndarray | None:
    """The descriptors of the test photos, as extra queries (None when the photos are absent)."""
    if not (testdata / "faces").is_dir():
        return None
    from faceindex.config import Settings
    from faceindex.pipeline import FaceEngine

    engine = FaceEngine(Settings())
    found = [engine.analyze(p) for p in sorted((testdata / "faces").rglob("*.*"))]
    return np.array([faces[0].descriptor for faces in found if faces], np.float32)


def run_size(count: int, queries: np.ndarray, seed: int) -> dict[str, Any]:
    vectors, synthetic_queries = synthetic(count, 1000, seed)
    all_queries = np.concatenate([synthetic_queries, queries]) if len(queries) else synthetic_queries
    keys = np.arange(count, dtype=np.int64)
    out: dict[str, Any] = {"faces": count, "queries": len(all_queries), "indexes": {}}

    flat = faiss.IndexFlatL2(DIM)
    flat.add(vectors)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _, truth = flat.search(all_queries, 10)
    del flat
    gc.collect()

    def build(label: str, make: Callable[[], Any]) -> Any:
        before, started = rss_bytes(), time.perf_counter()
        index = make()
        elapsed, grown = time.perf_counter() - started, rss_bytes() - before
        out["indexes"][label] = {
            "build_s": round(elapsed, 2),
            "memory_bytes_per_face": round(grown / count, 1),
            "sweep": {},
        }
        print(f"{count}: built {label} in {elapsed:.1f} s", file=sys.stderr, flush=True)
        return index

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    hnsw = build("faceindex hnsw (usearch, f16)", lambda: _ours(HnswIndex(DIM), keys, vectors))
    fhnsw = build("faiss IndexHNSWFlat", lambda: _faiss_hnsw(vectors))
    faiss.omp_set_num_threads(1)  # single-query latency: one thread each
    for breadth in BREADTHS:
        hnsw._index.expansion_search = breadth
        found, latencies = timed_queries(lambda q: hnsw.search(q, 10).keys, all_queries)
        out["indexes"]["faceindex hnsw (usearch, f16)"]["sweep"][breadth] = scores(
            found, truth, latencies, len(synthetic_queries)
        )
        fhnsw.hnsw.efSearch = breadth
        found, latencies = timed_queries(lambda q: fhnsw.search(q[None], 10)[1][0], all_queries)
        out["indexes"]["faiss IndexHNSWFlat"]["sweep"][breadth] = scores(
            found, truth, latencies, len(synthetic_queries)
        )
    hnsw = fhnsw = None  # free both before the exact indexes
    gc.collect()
    if count <= 1_000_000:
        exact = build("faceindex exact (NumPy)", lambda: _ours(ExactIndex(DIM), keys, vectors))
        found, latencies = timed_queries(lambda q: exact.search(q, 10).keys, all_queries[:200])
        out["indexes"]["faceindex exact (NumPy)"]["sweep"]["exact"] = scores(found, truth[:200], latencies, 200)
        flat = build("faiss IndexFlatL2", lambda: _faiss_flat(vectors))
        found, latencies = timed_queries(lambda q: flat.search(q[None], 10)[1][0], all_queries[:200])
        out["indexes"]["faiss IndexFlatL2"]["sweep"]["exact"] = scores(found, truth[:200], latencies, 200)
    out["at_recall_0.99"] = {
        label: next(
            ({"breadth": b, **s} for b, s in entry["sweep"].items() if s["recall@1"] >= 0.99),
            None,
        )
        for label, entry in out["indexes"].items()
    }
    return out


def _ours(index: Any, keys: np.ndarray, vectors: np.ndarray) -> Any:
    for start in range(0, len(keys), 1_000_000):
        index.add(keys[start : start + 1_000_000], vectors[start : start + 1_000_000])
    return index


def _faiss_hnsw(vectors: np.ndarray) -> Any:
    index = faiss.IndexHNSWFlat(DIM, CONNECTIVITY)
    index.hnsw.efConstruction = EXPANSION_ADD
    index.add(vectors)
    return index


def _faiss_flat(vectors: np.ndarray) -> Any:
    index = faiss.IndexFlatL2(DIM)
    index.add(vectors)
    return index


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument(
        "--testdata", type=Path, default=Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/search.json")
    args = parser.parse_args()
    real = real_queries(args.testdata)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "usearch": usearch.__version__,
            "faiss": faiss.__version__,
        },
        "synthetic": {
            "photos_per_identity": PHOTOS_PER_IDENTITY,
            "centre_spread": CENTRE_SPREAD,
            "photo_noise": PHOTO_NOISE,
            "real_queries": 0 if real is None else len(real),
        },
        "sizes": [],
    }
    for count in args.sizes:
        results["sizes"].append(
            run_size(count, real if real is not None else np.zeros((0, DIM), np.float32), seed=count)
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
