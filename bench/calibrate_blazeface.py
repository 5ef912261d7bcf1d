"""Measure the map from BlazeFace's box to the dlib-style box (models/blazeface.py's TO_DLIB_*).

    .venv/bin/python bench/calibrate_blazeface.py

For every test face that both dlib's MMOD detector and BlazeFace find, it prints the mean and spread
of: MMOD box width / BlazeFace box width, and the shift of the centre in BlazeFace box widths.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faceindex.config import Settings  # noqa: E402
from faceindex.models.blazeface import BlazeFaceDetector  # noqa: E402
from faceindex.models.litert import TfliteModel, mediapipe_model  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402
from faceindex.types import PixelBox  # noqa: E402


def iou(a: PixelBox, b: PixelBox) -> float:
    w = min(a.right, b.right) - max(a.left, b.left)
    h = min(a.bottom, b.bottom) - max(a.top, b.top)
    inter = max(w, 0) * max(h, 0)
    return inter / (a.area + b.area - inter) if inter else 0.0


def main() -> None:
    testdata = Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    mmod = FaceEngine(Settings(detector="mmod"))
    blaze = BlazeFaceDetector(TfliteModel(mediapipe_model("face_detection_full_range.tflite")))
    ratios = []
    folders = ("faces", "multi", "crowd", "large", "resolution")  # edge/ repeats one face 20 times
    for path in sorted(p for folder in folders for p in (testdata / folder).rglob("*.*")):
        try:
            pixels = mmod.decode(path).pixels
        except Exception:
            continue
        reference = [d.box for d in mmod.detector.detect(pixels)]
        for found in blaze.detect(pixels):
            raw = _raw_box(found.box)
            best = max(reference, key=lambda r: iou(r, raw), default=None)
            if best is None or iou(best, raw) < 0.3:
                continue
            width = raw.width
            ratios.append(
                (
                    best.width / width,
                    ((best.left + best.right) - (raw.left + raw.right)) / 2 / width,
                    ((best.top + best.bottom) - (raw.top + raw.bottom)) / 2 / width,
                )
            )
    values = np.array(ratios)
    print(f"{len(values)} faces")
    for name, column in zip(("scale", "dx", "dy"), values.T, strict=True):
        print(f"{name}: mean {column.mean():.3f}, sd {column.std():.3f}")


def _raw_box(box: PixelBox) -> PixelBox:
    """Invert BlazeFaceDetector._to_detection's map back to BlazeFace's own box."""
    from faceindex.models.blazeface import TO_DLIB_DX, TO_DLIB_DY, TO_DLIB_SCALE

    width = box.width / TO_DLIB_SCALE
    cx = (box.left + box.right) / 2 - TO_DLIB_DX * width
    cy = (box.top + box.bottom) / 2 - TO_DLIB_DY * width
    return PixelBox(cx - width / 2, cy - width / 2, cx + width / 2, cy + width / 2)


if __name__ == "__main__":
    main()
