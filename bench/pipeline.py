"""Detect + embed throughput: faceindex against face_recognition (dlib-bin), same photos, one run.

    .venv/bin/python bench/pipeline.py [--sets resolution faces crowd] [--repeat 3]
        [--cnn-peer-sets resolution crowd multi] [--out bench/results/pipeline.json]

For every image: median and p95 latency of the whole detect + landmarks + embed pipeline, and
images per second, per image set. Peers, in the same process on the same decoded pixels:
  * face_recognition, HOG detector (its default), upsample 1, then face_encodings;
  * face_recognition, CNN detector (model="cnn"), upsample 1 (its default for cnn), then
    face_encodings - far slower, so it runs once per image on `--cnn-peer-sets` only;
and faceindex with its default (MMOD, upsample 1) and with MMOD upsample 0. Detector recall is
reported against the union of the faces found by faceindex's MMOD and dlib's CNN (IoU >= 0.4).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import face_recognition  # noqa: E402
import onnxruntime  # noqa: E402

from faceindex.config import Settings  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402
from faceindex.types import PixelBox  # noqa: E402

Box = tuple[float, float, float, float]


def images(testdata: Path, name: str) -> list[Path]:
    return sorted(p for p in (testdata / name).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def faceindex_runner(engine: FaceEngine) -> Callable[[np.ndarray], list[Box]]:
    def run(pixels: np.ndarray) -> list[Box]:
        faces = engine.analyze(pixels)
        return [_box(f.box) for f in faces]

    return run


def face_recognition_runner(model: str) -> Callable[[np.ndarray], list[Box]]:
    def run(pixels: np.ndarray) -> list[Box]:
        locations = face_recognition.face_locations(pixels, number_of_times_to_upsample=1, model=model)
        face_recognition.face_encodings(pixels, locations, model="small")
        return [(float(left), float(top), float(right), float(bottom)) for top, right, bottom, left in locations]

    return run


def _box(box: PixelBox) -> Box:
    return (box.left, box.top, box.right, box.bottom)


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def measure(run: Callable[[np.ndarray], list[Box]], pixels: list[np.ndarray], repeat: int) -> dict[str, Any]:
    run(pixels[0])  # warm-up: model loading and first-call allocation are not per-image costs
    latencies, boxes = [], []
    for image in pixels:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            found = run(image)
            times.append(time.perf_counter() - started)
        latencies.append(statistics.median(times))
        boxes.append(found)
    ordered = sorted(latencies)
    return {
        "median_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "images_per_s": round(len(latencies) / sum(latencies), 3),
        "faces": sum(len(b) for b in boxes),
        "boxes": boxes,
    }


def recall(ours: list[list[Box]], theirs: list[list[Box]]) -> dict[str, Any]:
    """Each side's recall against the union of both sides' faces (one match per face, IoU >= 0.4)."""
    union = ours_hits = theirs_hits = 0
    for a, b in zip(ours, theirs, strict=True):
        matched_b = set()
        for box in a:
            j = next((j for j, other in enumerate(b) if j not in matched_b and iou(box, other) >= 0.4), None)
            if j is not None:
                matched_b.add(j)
        union += len(a) + len(b) - len(matched_b)
        ours_hits += len(a)
        theirs_hits += len(b)
    return {
        "union_faces": union,
        "faceindex_recall": round(ours_hits / union, 4) if union else 1.0,
        "face_recognition_cnn_recall": round(theirs_hits / union, 4) if union else 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--testdata", type=Path, default=Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    )
    parser.add_argument("--sets", nargs="+", default=["resolution", "faces", "crowd", "multi"])
    parser.add_argument("--cnn-peer-sets", nargs="*", default=["resolution", "crowd", "multi"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/pipeline.json")
    args = parser.parse_args()

    default = FaceEngine(Settings())
    fast = FaceEngine(Settings(detector_upsample=0))
    fast._embedder = default.embedder
    runners = {
        "faceindex (mmod, upsample 1)": (faceindex_runner(default), args.repeat),
        "faceindex (mmod, upsample 0)": (faceindex_runner(fast), args.repeat),
        "face_recognition (hog, upsample 1)": (face_recognition_runner("hog"), args.repeat),
    }
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
            "dlib": face_recognition.api.dlib.__version__,
        },
        "sets": {},
    }
    for name in args.sets:
        paths = images(args.testdata, name)
        pixels = [default.decode(p).pixels for p in paths]
        entry: dict[str, Any] = {
            "images": len(paths),
            "megapixels": round(sum(p.shape[0] * p.shape[1] for p in pixels) / 1e6 / len(paths), 2),
        }
        plan = dict(runners)
        if name in args.cnn_peer_sets:
            plan["face_recognition (cnn, upsample 1)"] = (face_recognition_runner("cnn"), 1)
        for label, (run, repeat) in plan.items():
            print(f"{name}: {label} ...", file=sys.stderr, flush=True)
            entry[label] = measure(run, pixels, repeat)
        if "face_recognition (cnn, upsample 1)" in entry:
            entry["recall"] = recall(
                entry["faceindex (mmod, upsample 1)"]["boxes"], entry["face_recognition (cnn, upsample 1)"]["boxes"]
            )
        for label in plan:
            entry[label].pop("boxes")
        results["sets"][name] = entry
        print(json.dumps({name: entry}, indent=1), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
