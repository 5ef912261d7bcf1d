"""The server's own overhead: the same calls through HTTP with boto3 and made in-process.

    .venv/bin/python bench/server.py [--clients 1 8 32] [--seconds 20] [--out bench/results/server.json]

One run, one machine. For DetectFaces and SearchFacesByImage (a collection of the test photos'
faces), at 1, 8 and 32 concurrent clients: requests per second and p50/p99 latency, first with the
service functions called from that many threads in this process, then with that many boto3 clients
(one per thread, SigV4, the real JSON protocol) against `faceindex serve` on loopback, run in its own
process with its default limits. Overhead = 1 - server throughput / in-process throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.api.live import start_server  # noqa: E402

from faceindex.config import Settings  # noqa: E402
from faceindex.service import collections, indexing, search  # noqa: E402
from faceindex.service import faces as face_service  # noqa: E402
from faceindex.service.container import open_services  # noqa: E402

COLLECTION = "bench"
OPERATIONS = ("DetectFaces", "SearchFacesByImage")


def photos(testdata: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((testdata / "faces").glob("*/*.jpg"))]


def load(call: Callable[[int], Any], clients: int, seconds: float) -> dict[str, float]:
    """`clients` threads calling `call(i)` back to back for `seconds`; throughput and latency."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        n = slot
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                call(n)
            except Exception:
                errors[slot] += 1
            latencies[slot].append(time.perf_counter() - started)
            n += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = np.array([x for per in latencies for x in per]) * 1000
    return {
        "requests": len(flat),
        "errors": sum(errors),
        "per_second": round(len(flat) / elapsed, 2),
        "p50_ms": round(float(np.percentile(flat, 50)), 1),
        "p99_ms": round(float(np.percentile(flat, 99)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--testdata", type=Path, default=Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/server.json")
    args = parser.parse_args()
    images = photos(args.testdata)
    detect_image = (args.testdata / "multi/obama_and_biden.jpg").read_bytes()

    with tempfile.TemporaryDirectory() as work:
        data_dir = Path(work) / "data"
        settings = Settings.from_env({**os.environ, "FACEINDEX_DATA_DIR": str(data_dir)})
        services = open_services(settings)
        services.engine.warm_up()
        collections.create_collection(services, COLLECTION)
        for n, image in enumerate(images):
            indexing.index_faces(services, COLLECTION, image, external_image_id=f"photo-{n}")

        in_process: dict[str, Callable[[int], Any]] = {
            "DetectFaces": lambda n: face_service.detect_faces(services.engine, detect_image),
            "SearchFacesByImage": lambda n: search.search_faces_by_image(services, COLLECTION, images[n % len(images)]),
        }
        results: dict[str, Any] = {op: {} for op in OPERATIONS}
        for op in OPERATIONS:
            load(in_process[op], 1, 2.0)  # warm caches and thread pools
            for clients in args.clients:
                results[op][str(clients)] = {"in_process": load(in_process[op], clients, args.seconds)}
                print(f"{op} x{clients} in-process: {results[op][str(clients)]['in_process']}", file=sys.stderr)
        services.close()

        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        server = start_server(data_dir, cache)
        try:
            key = server.new_key()
            local = threading.local()

            def client() -> Any:
                if not hasattr(local, "client"):
                    local.client = server.client(key)
                return local.client

            over_http: dict[str, Callable[[int], Any]] = {
                "DetectFaces": lambda n: client().detect_faces(Image={"Bytes": detect_image}),
                "SearchFacesByImage": lambda n: client().search_faces_by_image(
                    CollectionId=COLLECTION, Image={"Bytes": images[n % len(images)]}
                ),
            }
            for op in OPERATIONS:
                load(over_http[op], 1, 2.0)
                for clients in args.clients:
                    measured = load(over_http[op], clients, args.seconds)
                    entry = results[op][str(clients)]
                    entry["server"] = measured
                    entry["overhead"] = round(1 - measured["per_second"] / entry["in_process"]["per_second"], 3)
                    print(f"{op} x{clients} server: {measured} overhead {entry['overhead']}", file=sys.stderr)
        finally:
            server.stop(signal.SIGTERM)

    out = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"seconds": args.seconds, "max_in_flight": settings.max_in_flight, "auth": "sigv4"},
        "photos_indexed": len(images),
        "operations": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
