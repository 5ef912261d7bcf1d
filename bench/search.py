"""Search at scale: faceindex's vector index against faiss-cpu, same vectors, same queries, one machine.

    .venv/bin/python bench/search.py --sizes 100000 1000000 10000000 20000000 [--out …] [--work DIR]

Synthetic descriptors behave like dlib's: identities are points around a common mean (|mean| ~1.31,
as in real descriptors), photos of an identity add per-photo noise; the spreads are set so that
same-person and different-person distances match those measured on the test photos (mean 0.37 and
0.85). Queries are new photos of stored identities, plus the real descriptors of the test photos.

The sizes are checkpoints of one growing collection: descriptors are made 1M at a time, written to a
float32 file in `--work` (the stand-in for the store's descriptor column) and added to each index in
turn; at each checkpoint the script records the cumulative build time and resident memory per face,
and sweeps the HNSW search breadth measuring single-query p50/p99 latency and recall@1 / recall@10
against exact search (faiss IndexFlatL2 over the same prefix). faceindex's HNSW keeps int8 vectors
and re-ranks its candidates with the exact descriptors, read from that file as the store reads them
from SQLite; faiss's HNSW with 8-bit scalar quantisation (the same memory class) gets the same
re-ranking, and faiss's HNSWFlat (float32 vectors in RAM) runs up to 1M faces.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import faiss  # noqa: E402
import usearch  # noqa: E402

from faceindex.store.index.exact import ExactIndex  # noqa: E402
from faceindex.store.index.hnsw import CONNECTIVITY, EXPANSION_ADD, RERANK_EXTRA, HnswIndex  # noqa: E402

DIM = 128
CHUNK = 1_000_000
PHOTOS_PER_IDENTITY = 5
CENTRE_SPREAD = 0.048  # per dimension: different people ~0.85 apart
PHOTO_NOISE = 0.023  # per dimension: photos of one person ~0.37 apart
MEAN_NORM = 1.31
SYNTHETIC_QUERIES = 1000
BREADTHS = [32, 64, 128, 256, 512, 1024]
FLAT_HNSW_LIMIT = 1_000_000  # faiss HNSWFlat holds float32 vectors in RAM: 10 GB at 20M
EXACT_LIMIT = 1_000_000
LIBC = ctypes.CDLL("libc.so.6")
OURS = "faceindex hnsw (usearch int8 + exact re-rank)"
FAISS_SQ = "faiss IndexHNSWSQ 8-bit (+ the same re-rank)"
FAISS_FLAT = "faiss IndexHNSWFlat"


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Synthetic:
    """Photo i shows identity i // PHOTOS_PER_IDENTITY, so every prefix is a collection of its own."""

    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        mean = rng.normal(size=DIM)
        self.mean = (mean / np.linalg.norm(mean) * MEAN_NORM).astype(np.float32)
        self.basis = rng.normal(0, CENTRE_SPREAD, (4096, DIM)).astype(np.float32)

    def chunk(self, start: int, stop: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, start])
        ids = np.arange(start, stop) // PHOTOS_PER_IDENTITY
        noise = rng.normal(0, PHOTO_NOISE, (stop - start, DIM)).astype(np.float32)
        return self.mean + self.centres(ids) + noise

    def queries(self, count: int) -> np.ndarray:
        """New photos of identities stored among the first `count` faces."""
        rng = np.random.default_rng([self.seed, count, 1])
        ids = rng.integers(0, max(1, count // PHOTOS_PER_IDENTITY), SYNTHETIC_QUERIES)
        noise = rng.normal(0, PHOTO_NOISE, (SYNTHETIC_QUERIES, DIM)).astype(np.float32)
        return (self.mean + self.centres(ids) + noise).astype(np.float32)

    def centres(self, ids: np.ndarray) -> np.ndarray:
        """Each identity: a signed sum of 4 basis rows chosen by a hash of its id (cheap, distinct)."""
        out = np.empty((len(ids), DIM), np.float32)
        for offset in range(0, len(ids), 100_000):
            part = ids[offset : offset + 100_000]
            rows = (part[:, None] * np.array([2654435761, 40503, 69069, 1103515245]) >> 7) % 4096
            signs = np.where(((part[:, None] >> np.arange(4)) & 1) == 1, 1.0, -1.0).astype(np.float32)
            out[offset : offset + len(part)] = (self.basis[rows] * signs[:, :, None]).sum(axis=1) / 2.0
        return out


class VectorFile:
    """Float32 descriptors by key on disk; `exact` reads rows with pread, as the store reads SQLite rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.size = os.fstat(self._fd).st_size // (4 * DIM)

    def append(self, vectors: np.ndarray) -> None:
        os.pwrite(self._fd, np.ascontiguousarray(vectors, "<f4").tobytes(), self.size * 4 * DIM)
        self.size += len(vectors)

    def read(self, start: int, stop: int) -> np.ndarray:
        data = os.pread(self._fd, (stop - start) * 4 * DIM, start * 4 * DIM)
        return np.frombuffer(data, "<f4").reshape(stop - start, DIM)

    def exact(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = [os.pread(self._fd, 4 * DIM, int(k) * 4 * DIM) for k in keys]
        return np.asarray(keys, np.int64), np.frombuffer(b"".join(rows), "<f4").reshape(len(rows), DIM)

    def chunks(self, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, stop, CHUNK):
            yield start, self.read(start, min(stop, start + CHUNK))


def rerank(
    candidates: np.ndarray, query: np.ndarray, exact: Callable[..., tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    keys, vectors = exact(candidates[candidates >= 0])
    return keys[np.argsort(np.einsum("ij,ij->i", vectors - query, vectors - query), kind="stable")]


def truth_for(file: VectorFile, count: int, queries: np.ndarray) -> np.ndarray:
    """Exact top 10 of each query among the first `count` faces, a chunk at a time."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    best_d = np.full((len(queries), 10), np.inf, np.float32)
    best_k = np.full((len(queries), 10), -1, np.int64)
    for start, vectors in file.chunks(count):
        flat = faiss.IndexFlatL2(DIM)
        flat.add(np.ascontiguousarray(vectors))
        d, k = flat.search(queries, 10)
        d_all, k_all = np.concatenate([best_d, d], 1), np.concatenate([best_k, k + start], 1)
        order = np.argsort(d_all, axis=1, kind="stable")[:, :10]
        best_d, best_k = np.take_along_axis(d_all, order, 1), np.take_along_axis(k_all, order, 1)
    return best_k


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


def real_queries(testdata: Path) -> np.ndarray:
    """The descriptors of the test photos, as extra queries (none when the photos are absent)."""
    if not (testdata / "faces").is_dir():
        return np.zeros((0, DIM), np.float32)
    from faceindex.config import Settings
    from faceindex.pipeline import FaceEngine

    engine = FaceEngine(Settings())
    found = [engine.analyze(p) for p in sorted((testdata / "faces").rglob("*.*"))]
    return np.array([faces[0].descriptor for faces in found if faces], np.float32)


class Checkpoints:
    """Query sets, ground truth and results per checkpoint size, written out after each step."""

    def __init__(self, sizes: list[int], data: Synthetic, real: np.ndarray, out: Path, meta: dict[str, Any]) -> None:
        self.sizes, self.data, self.real, self.out = sizes, data, real, out
        self.pauses: Path | None = None
        self.peer_limit = max(sizes)  # largest size faiss's quantised HNSW is grown to
        self.queries = {n: np.concatenate([data.queries(n), real]) for n in sizes}
        self.truth: dict[int, np.ndarray] = {}
        previous = json.loads(out.read_text()) if out.exists() else {}
        kept = [s for s in previous.get("sizes", []) if s["faces"] not in sizes]
        self.results: dict[str, Any] = {**meta, "sizes": kept}
        self.by_size = {n: self._entry(n) for n in sizes}

    def _entry(self, n: int) -> dict[str, Any]:
        entry = {"faces": n, "queries": len(self.queries[n]), "measured": time.strftime("%Y-%m-%d"), "indexes": {}}
        self.results["sizes"].append(entry)
        self.results["sizes"].sort(key=lambda s: s["faces"])
        return entry

    def record(self, n: int, label: str, data: dict[str, Any]) -> None:
        entry = self.by_size[n]
        entry["indexes"][label] = data
        entry["at_recall_0.99"] = at_recall_99(entry["indexes"])
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps(self.results, indent=2) + "\n")


def at_recall_99(indexes: dict[str, Any]) -> dict[str, Any]:
    """Each index's narrowest breadth reaching recall@1 0.99, with its scores (None: never reached)."""
    return {
        name: next(({"breadth": b, **s} for b, s in e["sweep"].items() if s["recall@1"] >= 0.99), None)
        for name, e in indexes.items()
    }


def grow(
    label: str,
    checkpoints: Checkpoints,
    file: VectorFile,
    limit: int,
    add: Callable[[np.ndarray, np.ndarray], None],
    sweep: Callable[[int, np.ndarray], dict[str, Any]],
) -> None:
    """Add the faces a chunk at a time; at each checkpoint size measure and record."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    gc.collect()
    LIBC.malloc_trim(0)
    before, build_s, added = rss_bytes(), 0.0, 0
    adding: list[tuple[float, float]] = []  # wall-clock intervals spent in add()
    for n in [s for s in checkpoints.sizes if s <= limit]:
        while added < n:
            stop = min(n, added + CHUNK)
            if file.size < stop:
                file.append(checkpoints.data.chunk(file.size, stop))
            vectors = np.ascontiguousarray(file.read(added, stop))
            started, wall = time.perf_counter(), time.time()
            add(np.arange(added, stop, dtype=np.int64), vectors)
            build_s += time.perf_counter() - started
            adding.append((wall, time.time()))
            del vectors  # not counted in the index's memory
            added = stop
            print(f"{label}: {added:,} faces, {build_s:.0f} s", file=sys.stderr, flush=True)
        gc.collect()
        LIBC.malloc_trim(0)
        memory = (rss_bytes() - before) / n
        if n not in checkpoints.truth:
            checkpoints.truth[n] = truth_for(file, n, checkpoints.queries[n])
        faiss.omp_set_num_threads(1)  # single-query latency: one thread each
        paused = paused_during(adding, checkpoints.pauses)
        result = {
            "build_s": round(build_s - paused, 1),
            "paused_s": round(paused, 1),
            "memory_bytes_per_face": round(memory, 1),
            "sweep": sweep(n, checkpoints.truth[n]),
        }
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        checkpoints.record(n, label, result)


def paused_during(intervals: list[tuple[float, float]], pauses: Path | None) -> float:
    """Seconds of `intervals` during which this process was stopped on purpose (SIGSTOP), so that
    another measurement could have the machine: `--pauses FILE` holds one "stop_time cont_time" line
    (epoch seconds) per pause, written by bench/pause.sh."""
    if pauses is None or not pauses.exists():
        return 0.0
    total = 0.0
    for line in pauses.read_text().splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        stopped, resumed = float(parts[0]), float(parts[1])
        total += sum(max(0.0, min(end, resumed) - max(start, stopped)) for start, end in intervals)
    return total


def sweep_breadths(
    set_breadth: Callable[[int], None],
    search: Callable[[np.ndarray], np.ndarray],
    queries: np.ndarray,
    truth: np.ndarray,
) -> dict[str, Any]:
    out = {}
    for breadth in BREADTHS:
        set_breadth(breadth)
        found, latencies = timed_queries(search, queries)
        out[str(breadth)] = scores(found, truth, latencies, SYNTHETIC_QUERIES)
    return out


def run(sizes: list[int], checkpoints: Checkpoints, file: VectorFile, phases: list[Callable[..., None]]) -> None:
    # the small, quick baselines first; faiss's quantised HNSW last (the longest build after ours)
    for phase in phases:
        phase(sizes, checkpoints, file)  # each frees its index on return
        gc.collect()
        LIBC.malloc_trim(0)  # so the next phase's resident memory starts from a true base


def grow_ours(sizes: list[int], checkpoints: Checkpoints, file: VectorFile) -> None:
    ours = HnswIndex(DIM, exact_vectors=file.exact)
    grow(
        OURS,
        checkpoints,
        file,
        max(sizes),
        lambda keys, vectors: ours.add(keys, vectors),
        lambda n, truth: sweep_breadths(
            lambda b: setattr(ours, "expansion_search", b),
            lambda q: ours.search(q, 10).keys,
            checkpoints.queries[n],
            truth,
        ),
    )


def grow_faiss_quantised(sizes: list[int], checkpoints: Checkpoints, file: VectorFile) -> None:
    quantised = faiss.IndexHNSWSQ(DIM, faiss.ScalarQuantizer.QT_8bit, CONNECTIVITY)
    quantised.hnsw.efConstruction = EXPANSION_ADD

    def add_quantised(keys: np.ndarray, vectors: np.ndarray) -> None:
        if not quantised.is_trained:
            quantised.train(vectors[:100_000])
        quantised.add(vectors)

    grow(
        FAISS_SQ,
        checkpoints,
        file,
        min(max(sizes), checkpoints.peer_limit),
        add_quantised,
        lambda n, truth: sweep_breadths(
            lambda b: setattr(quantised.hnsw, "efSearch", b),
            lambda q: rerank(quantised.search(q[None], 10 + RERANK_EXTRA)[1][0], q, file.exact),
            checkpoints.queries[n],
            truth,
        ),
    )


def grow_faiss_flat(sizes: list[int], checkpoints: Checkpoints, file: VectorFile) -> None:
    flat_hnsw = faiss.IndexHNSWFlat(DIM, CONNECTIVITY)
    flat_hnsw.hnsw.efConstruction = EXPANSION_ADD
    grow(
        FAISS_FLAT,
        checkpoints,
        file,
        FLAT_HNSW_LIMIT,
        lambda keys, vectors: flat_hnsw.add(vectors),
        lambda n, truth: sweep_breadths(
            lambda b: setattr(flat_hnsw.hnsw, "efSearch", b),
            lambda q: flat_hnsw.search(q[None], 10)[1][0],
            checkpoints.queries[n],
            truth,
        ),
    )


def exact_baselines(sizes: list[int], checkpoints: Checkpoints, file: VectorFile) -> None:
    for n in [s for s in sizes if s <= EXACT_LIMIT]:
        while file.size < n:
            file.append(checkpoints.data.chunk(file.size, min(n, file.size + CHUNK)))
        if n not in checkpoints.truth:
            checkpoints.truth[n] = truth_for(file, n, checkpoints.queries[n])
        vectors = np.ascontiguousarray(file.read(0, n))
        queries, truth = checkpoints.queries[n][:200], checkpoints.truth[n][:200]
        exact = ExactIndex(DIM)
        started = time.perf_counter()
        exact.add(np.arange(n, dtype=np.int64), vectors)
        built = time.perf_counter() - started
        found, latencies = timed_queries(lambda q, index=exact: index.search(q, 10).keys, queries)
        checkpoints.record(
            n,
            "faceindex exact (NumPy)",
            {
                "build_s": round(built, 2),
                "memory_bytes_per_face": 4 * DIM + 12,
                "sweep": {"exact": scores(found, truth, latencies, 200)},
            },
        )
        faiss.omp_set_num_threads(1)
        flat = faiss.IndexFlatL2(DIM)
        started = time.perf_counter()
        flat.add(vectors)
        built = time.perf_counter() - started
        found, latencies = timed_queries(lambda q, index=flat: index.search(q[None], 10)[1][0], queries)
        checkpoints.record(
            n,
            "faiss IndexFlatL2",
            {
                "build_s": round(built, 2),
                "memory_bytes_per_face": 4 * DIM,
                "sweep": {"exact": scores(found, truth, latencies, 200)},
            },
        )


PHASES: dict[str, Callable[[list[int], Checkpoints, VectorFile], None]] = {
    "faiss-flat-hnsw": grow_faiss_flat,
    "exact": exact_baselines,
    "faceindex": grow_ours,
    "faiss-sq-hnsw": grow_faiss_quantised,
}  # in this order: the quick baselines first, then the two long builds


def adopt(source: Path, out: Path) -> None:
    """Replace --out's entries with `source`'s for the same sizes and indexes: for re-measuring one
    index (on a quiet machine) without re-running the rest. Each entry keeps its own date."""
    results, extra = json.loads(out.read_text()), json.loads(source.read_text())
    by_size = {s["faces"]: s for s in results["sizes"]}
    for entry in extra["sizes"]:
        target = by_size[entry["faces"]]
        for label, data in entry["indexes"].items():
            target["indexes"][label] = {**data, "measured": entry["measured"], "remeasured_from": source.name}
        target["at_recall_0.99"] = at_recall_99(target["indexes"])
    out.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument(
        "--testdata", type=Path, default=Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/search.json")
    parser.add_argument("--work", type=Path, default=None, help="folder for the descriptor file (default: a temp dir)")
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=list(PHASES), help="which indexes")
    parser.add_argument(
        "--adopt", type=Path, help="copy the index entries of another results file into --out (no measuring)"
    )
    parser.add_argument(
        "--peer-limit", type=int, default=0, help="grow faiss's quantised HNSW only this far (time on 2 cores)"
    )
    parser.add_argument("--pauses", type=Path, default=None, help="file of 'stop cont' epoch pairs (bench/pause.sh)")
    args = parser.parse_args()
    if args.adopt:
        adopt(args.adopt, args.out)
        return
    sizes = sorted(set(args.sizes))
    real = real_queries(args.testdata)
    meta = {
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
            "real_queries": len(real),
        },
        "index": {"connectivity": CONNECTIVITY, "expansion_add": EXPANSION_ADD, "rerank_extra": RERANK_EXTRA},
    }
    checkpoints = Checkpoints(sizes, Synthetic(seed=7), real, args.out, meta)
    checkpoints.pauses = args.pauses
    checkpoints.peer_limit = args.peer_limit or max(sizes)
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        run(sizes, checkpoints, VectorFile(Path(work) / "descriptors.f32"), [PHASES[p] for p in args.phases])


if __name__ == "__main__":
    main()
