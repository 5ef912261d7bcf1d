"""Facial landmarks and aligned face chips, with dlib's shape predictors (via dlib-bin).

The 5-point model (public domain) is what alignment uses, always. The 68-point model is opt-in
(FACEINDEX_LANDMARKS=68): its iBUG 300-W training data excludes commercial use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from faceindex.types import PixelBox, Points, RGBImage

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass
class ShapePredictor:
    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _predictor: object | None = field(default=None, repr=False)

    def _get(self) -> object:
        with self._lock:
            if self._predictor is None:
                import dlib

                self._predictor = dlib.shape_predictor(str(self.path))
            return self._predictor

    def shapes(self, image: RGBImage, boxes: list[PixelBox]) -> list[object]:
        """dlib full_object_detection per box (kept as dlib objects for get_face_chips)."""
        import dlib

        predictor = self._get()
        return [
            predictor(image, dlib.rectangle(round(b.left), round(b.top), round(b.right) - 1, round(b.bottom) - 1))  # type: ignore[operator]
            for b in boxes
        ]


def shape_points(shape: object) -> Points:
    parts = shape.parts()  # type: ignore[attr-defined]
    return np.array([(p.x, p.y) for p in parts], dtype=np.float64)


def face_chips(image: RGBImage, shapes: list[object]) -> npt.NDArray[np.uint8]:
    """Aligned 150x150 chips exactly as dlib.get_face_chip(img, shape, 150, 0.25)."""
    import dlib

    if not shapes:
        return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
    full = dlib.full_object_detections()
    full.extend(shapes)
    chips = dlib.get_face_chips(image, full, size=CHIP_SIZE, padding=CHIP_PADDING)
    return np.stack([np.asarray(c, dtype=np.uint8) for c in chips])


def chips_at(image: RGBImage, fives: list[Points]) -> npt.NDArray[np.uint8]:
    """Aligned 150x150 chips for five points each (dlib's order, sub-pixel): the similarity fit to dlib's
    template and the resampling get_face_chips does, without rounding the points to integers first (on
    integer points the chips equal face_chips')."""
    import dlib

    from faceindex.imaging.align import chip_template

    if not fives:
        return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
    template = dlib.dpoints([dlib.dpoint(float(x), float(y)) for x, y in chip_template(CHIP_SIZE, CHIP_PADDING)])
    details = [
        dlib.chip_details(
            template,
            dlib.dpoints([dlib.dpoint(float(x), float(y)) for x, y in five]),
            dlib.chip_dims(CHIP_SIZE, CHIP_SIZE),
        )
        for five in fives
    ]
    return np.stack([np.asarray(c, dtype=np.uint8) for c in dlib.extract_image_chips(image, details)])
