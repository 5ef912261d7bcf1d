"""Detection on the hard_faces dev set (issue 11.2, 11.5): recall by face size and category, false
positives, ms per megapixel, for faceindex's candidates and its peers in one run on the same pixels.

    .venv/bin/python bench/detection.py [--set ~/.cache/faceindex/devsets/hard_faces] [--limit N]
        [--only NAME ...] [--out bench/results/detection.json]

The set (scripts/devsets/hard_faces.py) has images.csv (file, category, faces, ...) and boxes.csv (file,
left, top, right, bottom, size, ...). A ground-truth face is found when a detection overlaps it with
IoU >= 0.3 (box conventions differ between detectors: BlazeFace's, dlib's HOG and CNN boxes), one
detection per face. False positives are counted on the face-free photos only (a detection elsewhere
that matches no box may be a face the teacher missed). Time is the detector's call on decoded pixels;
faceindex's entries are its whole detection stage (proposals, 5-point shapes, FaceMesh's face check),
as `FaceEngine.detect` runs it. ms/MP is the median over images of at least 0.25 MP, and the aggregate
(all time over all megapixels).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faceindex.config import Settings  # noqa: E402
from faceindex.models.base import Detector  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402

Box = tuple[float, float, float, float]
Runner = Callable[[np.ndarray], list[Box]]
DEFAULT_SET = Path.home() / ".cache" / "faceindex" / "devsets" / "hard_faces"
SIZE_BANDS = ((0, 24), (24, 40), (40, 80), (80, 160), (160, 100_000))
MATCH_IOU = 0.3
MIN_TIMED_MP = 0.25
DEFAULT = "faceindex default (blazeface, upsample 1)"


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def matched(truth: list[Box], found: list[Box]) -> list[bool]:
    """For each true box, whether a detection matches it (greedy by IoU, each detection once)."""
    pairs = sorted(((iou(t, f), ti, fi) for ti, t in enumerate(truth) for fi, f in enumerate(found)), reverse=True)
    hit, used = [False] * len(truth), set()
    for overlap, ti, fi in pairs:
        if overlap < MATCH_IOU:
            break
        if not hit[ti] and fi not in used:
            hit[ti] = True
            used.add(fi)
    return hit


def band(size: float) -> str:
    low, high = next((lo, hi) for lo, hi in SIZE_BANDS if lo <= size < hi)
    return f"{low}-{high}" if high < 100_000 else f"{low}+"


def engine_runner(engine: FaceEngine) -> Runner:
    return lambda pixels: [(d.box.left, d.box.top, d.box.right, d.box.bottom) for d in engine.detect(pixels)]


def face_recognition_runner(model: str, upsample: int) -> Runner:
    import face_recognition

    def run(pixels: np.ndarray) -> list[Box]:
        found = face_recognition.face_locations(pixels, number_of_times_to_upsample=upsample, model=model)
        return [(float(left), float(top), float(right), float(bottom)) for top, right, bottom, left in found]

    return run


@dataclass
class TiledEngine(FaceEngine):  # type: ignore[misc]
    """The default engine with BlazeFace's finest tiles at another size (a candidate default)."""

    smallest_tile: int = 320

    @property
    def detector(self) -> Detector:
        default = FaceEngine(self.settings, self._lock, self._built).detector
        return self._model(f"tiles:{self.smallest_tile}", lambda: replace(default, smallest_tile=self.smallest_tile))


def with_tiles(engine: FaceEngine, smallest_tile: int) -> FaceEngine:
    return TiledEngine(engine.settings, engine._lock, engine._built, smallest_tile=smallest_tile)


def candidates(engine: FaceEngine) -> dict[str, Runner]:
    return {
        DEFAULT: engine_runner(engine),
        "faceindex blazeface, finest tiles 448 px (the default before)": engine_runner(with_tiles(engine, 448)),
        "faceindex blazeface, finest tiles 256 px": engine_runner(with_tiles(engine, 256)),
        "faceindex blazeface, upsample 2": engine_runner(engine.with_detector("blazeface", 2)),
        "faceindex mmod (dlib CNN on ORT), upsample 1": engine_runner(engine.with_detector("mmod", 1)),
        "faceindex hog (dlib), upsample 1": engine_runner(engine.with_detector("hog", 1)),
        "face_recognition hog, upsample 1": face_recognition_runner("hog", 1),
        "face_recognition hog, upsample 2": face_recognition_runner("hog", 2),
        "face_recognition cnn, upsample 1": face_recognition_runner("cnn", 1),
    }


def load_set(root: Path, limit: int | None) -> list[dict[str, Any]]:
    with open(root / "images.csv", newline="") as handle:
        images = list(csv.DictReader(handle))
    boxes: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(root / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            boxes[row["file"]].append(row)
    if limit:  # an even sample of every category
        by_category: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in images:
            by_category[row["category"]].append(row)
        images = [row for rows in by_category.values() for row in rows[:: max(1, len(rows) // limit)][:limit]]
    out = []
    for row in images:
        truth = [(float(b["left"]), float(b["top"]), float(b["right"]), float(b["bottom"])) for b in boxes[row["file"]]]
        sizes = [float(b["size"]) for b in boxes[row["file"]]]
        out.append({"file": row["file"], "category": row["category"], "truth": truth, "sizes": sizes})
    return out


def measure(name: str, run: Runner, images: list[dict[str, Any]], pixels: dict[str, np.ndarray]) -> dict[str, Any]:
    found_by_band: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    found_by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_positives, images_with_fp, extra, seconds, per_mp = 0, 0, 0, 0.0, []
    missed: list[str] = []
    total_mp = 0.0
    run(pixels[images[0]["file"]])  # warm up (loads the model)
    for index, image in enumerate(images):
        data = pixels[image["file"]]
        start = time.perf_counter()
        found = run(data)
        elapsed = time.perf_counter() - start
        mp = data.shape[0] * data.shape[1] / 1e6
        seconds, total_mp = seconds + elapsed, total_mp + mp
        if mp >= MIN_TIMED_MP:
            per_mp.append(elapsed * 1000 / mp)
        if not image["truth"]:
            false_positives += len(found)
            images_with_fp += bool(found)
            continue
        hits = matched(image["truth"], found)
        extra += max(0, len(found) - sum(hits))
        for hit, size in zip(hits, image["sizes"], strict=True):
            for table, key in ((found_by_band, band(size)), (found_by_category, image["category"])):
                table[key][0] += hit
                table[key][1] += 1
        if image["category"] == "tight" and not all(hits):
            missed.append(image["file"])
        if index % 100 == 0:
            print(f"  {name}: {index}/{len(images)}", file=sys.stderr, flush=True)

    def recall(table: dict[str, list[int]]) -> dict[str, dict[str, float]]:
        return {k: {"found": v[0], "faces": v[1], "recall": round(v[0] / v[1], 4)} for k, v in sorted(table.items())}

    return {
        "recall_by_size": recall(found_by_band),
        "recall_by_category": recall(found_by_category),
        "false_positives": false_positives,
        "face_free_images_with_a_detection": images_with_fp,
        "unmatched_on_face_images": extra,
        "tight_crops_missed": missed,
        "ms_per_mp_median": round(statistics.median(per_mp), 1) if per_mp else None,
        "ms_per_mp_aggregate": round(seconds * 1000 / total_mp, 1),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--limit", type=int, help="at most N images of each category (a quick run)")
    parser.add_argument("--only", nargs="*", help="run only the candidates whose name contains one of these")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/detection.json")
    parser.add_argument("--keep", type=Path, help="a results JSON whose other detectors' rows are kept (marked)")
    args = parser.parse_args()
    images = load_set(args.set, args.limit)
    print(f"{len(images)} images, {sum(len(i['truth']) for i in images)} faces", file=sys.stderr)
    pixels = {i["file"]: np.asarray(Image.open(args.set / i["file"]).convert("RGB")) for i in images}
    engine = FaceEngine(Settings())
    results = {}
    for name, run in candidates(engine).items():
        if args.only and not any(part in name for part in args.only):
            continue
        results[name] = measure(name, run, images, pixels)
        print(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k != 'tight_crops_missed'})}")
    if args.keep:  # rows measured in an earlier run on the same set, for detectors not run now
        earlier = json.loads(args.keep.read_text())["detectors"]
        for name, row in earlier.items():
            results.setdefault(name, {**row, "measured_in_an_earlier_run": str(args.keep.name)})
    report = {
        "set": str(args.set),
        "images": len(images),
        "faces": sum(len(i["truth"]) for i in images),
        "match_iou": MATCH_IOU,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")},
        "detectors": results,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
