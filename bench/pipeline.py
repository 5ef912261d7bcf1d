"""Detect + embed throughput and detector recall: faceindex against face_recognition (dlib-bin).

    .venv/bin/python bench/pipeline.py [--sets resolution faces crowd multi] [--repeat 3]
        [--cnn-peer-sets …] [--out bench/results/pipeline.json]

One process, the same decoded photos for everyone, measured one after the other:
  * pipelines (detect + landmarks + 128-D descriptors), per image: median and p95 latency and
    images/s. faceindex runs its full analysis (also FaceMesh landmarks, pose, quality), so it does
    more work than the peer. Peers: face_recognition with its default HOG detector (upsample 1) and
    with its CNN detector (model="cnn", upsample 1, its default for cnn; slow, so once per image);
  * detectors alone, per image: faceindex's BlazeFace tile pyramid (default), dlib's MMOD on
    onnxruntime (upsample 1 and 0) and dlib's HOG (upsample 1);
  * recall against face_recognition's CNN model: the share of the faces it finds that each
    detector also finds (IoU >= 0.3: box conventions differ), and how many further faces it finds.
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

Box = tuple[float, float, float, float]
Runner = Callable[[np.ndarray], list[Box]]
PEER_CNN = "face_recognition (cnn, upsample 1)"


def images(testdata: Path, name: str) -> list[Path]:
    return sorted(p for p in (testdata / name).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def faceindex_pipeline(engine: FaceEngine) -> Runner:
    return lambda pixels: [(f.box.left, f.box.top, f.box.right, f.box.bottom) for f in engine.analyze(pixels)]


def faceindex_detector(engine: FaceEngine) -> Runner:
    return lambda pixels: [(d.box.left, d.box.top, d.box.right, d.box.bottom) for d in engine.detect(pixels)]


def face_recognition_pipeline(model: str) -> Runner:
    def run(pixels: np.ndarray) -> list[Box]:
        locations = face_recognition.face_locations(pixels, number_of_times_to_upsample=1, model=model)
        face_recognition.face_encodings(pixels, locations, model="small")
        return [
            (float(left), float(top), float(right + 1), float(bottom + 1)) for top, right, bottom, left in locations
        ]

    return run


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def measure(run: Runner, pixels: list[np.ndarray], repeat: int) -> dict[str, Any]:
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
    megapixels = [p.shape[0] * p.shape[1] / 1e6 for p in pixels]
    return {
        "median_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "median_ms_per_megapixel": round(
            1000 * statistics.median(t / m for t, m in zip(latencies, megapixels, strict=True)), 1
        ),
        "images_per_s": round(len(latencies) / sum(latencies), 3),
        "faces": sum(len(b) for b in boxes),
        "boxes": boxes,
    }


def recall_against(reference: list[list[Box]], found: list[list[Box]]) -> dict[str, Any]:
    matched = further = total = 0
    for ref, ours in zip(reference, found, strict=True):
        used: set[int] = set()
        for box in ref:
            j = next((j for j, o in enumerate(ours) if j not in used and iou(box, o) >= 0.3), None)
            if j is not None:
                used.add(j)
        matched += len(used)
        total += len(ref)
        further += len(ours) - len(used)
    return {
        "reference_faces": total,
        "found": matched,
        "recall": round(matched / total, 4) if total else None,
        "further_faces": further,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    default_testdata = Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    parser.add_argument("--testdata", type=Path, default=default_testdata)
    parser.add_argument("--sets", nargs="+", default=["resolution", "faces", "crowd", "multi"])
    parser.add_argument("--cnn-peer-sets", nargs="*", default=["resolution", "faces", "crowd", "multi"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/pipeline.json")
    args = parser.parse_args()

    engine = FaceEngine(Settings())
    variants = {
        "mmod, upsample 1": engine.with_detector("mmod", 1),
        "mmod, upsample 0": engine.with_detector("mmod", 0),
        "hog, upsample 1": engine.with_detector("hog", 1),
    }
    pipelines: dict[str, tuple[Runner, int]] = {
        "faceindex (default: blazeface)": (faceindex_pipeline(engine), args.repeat),
        "faceindex (mmod, upsample 1)": (faceindex_pipeline(variants["mmod, upsample 1"]), args.repeat),
        "face_recognition (hog, upsample 1)": (face_recognition_pipeline("hog"), args.repeat),
    }
    detectors: dict[str, Runner] = {"blazeface (default)": faceindex_detector(engine)}
    detectors |= {name: faceindex_detector(variant) for name, variant in variants.items()}
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
        pixels = [engine.decode(p).pixels for p in paths]
        mean_mp = sum(p.shape[0] * p.shape[1] for p in pixels) / 1e6 / len(paths)
        entry: dict[str, Any] = {
            "images": len(paths),
            "megapixels": round(mean_mp, 2),
            "pipelines": {},
            "detectors": {},
        }
        plan = dict(pipelines)
        if name in args.cnn_peer_sets:
            plan[PEER_CNN] = (face_recognition_pipeline("cnn"), 1)
        for label, (run, repeat) in plan.items():
            print(f"{name}: pipeline {label} ...", file=sys.stderr, flush=True)
            entry["pipelines"][label] = measure(run, pixels, repeat)
        for label, run in detectors.items():
            print(f"{name}: detector {label} ...", file=sys.stderr, flush=True)
            entry["detectors"][label] = measure(run, pixels, args.repeat)
        if PEER_CNN in entry["pipelines"]:
            reference = entry["pipelines"][PEER_CNN]["boxes"]
            for stats in entry["detectors"].values():
                stats["against_face_recognition_cnn"] = recall_against(reference, stats["boxes"])
        for group in ("pipelines", "detectors"):
            for stats in entry[group].values():
                stats.pop("boxes")
        results["sets"][name] = entry
        print(json.dumps({name: entry}, indent=1), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
