"""Face detectors: dlib's MMOD CNN on onnxruntime (default) and dlib's HOG (selectable).

The MMOD decoding reproduces dlib's `loss_mmod_::to_label` on its tiled image pyramid: one
tensor holds every pyramid level (5/6 scale steps, 10 px apart, 11 px outer border), the net
scores 80x80 windows, cells with a score above 0 are mapped back to the image and greedy
non-maximum suppression keeps the best box of each overlapping group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from faceindex.models.runtime import OnnxModel
from faceindex.types import Detection, PixelBox, RGBImage

Rect = tuple[int, int, int, int]  # left, top, right, bottom (inclusive, as dlib's rectangle)
PYRAMID_RATE = 5.0 / 6.0  # pyramid_down<6>
MIN_LEVEL_HEIGHT = 5


class FaceDetector(Protocol):
    name: str

    def detect(self, image: RGBImage) -> list[Detection]: ...


def mmod_confidence(score: float) -> float:
    """MMOD scores are margins (> 0 is a face, clear faces score about 1); map them to 0-100."""
    return 100.0 / (1.0 + math.exp(-6.0 * score))


def pyramid_layout(rows: int, cols: int, padding: int, outer_padding: int) -> tuple[list[Rect], int, int]:
    """dlib's compute_tiled_image_pyramid_details: where each level goes in the one tensor."""
    sizes = [(cols, rows)]
    nr, nc = rows, cols
    while True:
        nr, nc = math.floor(PYRAMID_RATE * nr), math.floor(PYRAMID_RATE * nc)
        if nr * nc == 0 or nr < MIN_LEVEL_HEIGHT:
            break
        sizes.append((nc, nr))
    total_height = sum(h + padding for _, h in sizes) - 2 * padding
    height, prev_width = 0, 0
    for w, h in sizes:
        if w <= sizes[0][0] - prev_width - padding and (height - sizes[0][1]) * 2 >= total_height - sizes[0][1]:
            break
        height += h + padding
        prev_width = w
    height -= padding
    width = sizes[0][0]
    tensor_rows, tensor_cols = height + 2 * outer_padding, width + 2 * outer_padding

    rects: list[Rect] = []
    y, i = outer_padding, 0
    while y < height + outer_padding and i < len(sizes):
        w, h = sizes[i]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):
        w, h = sizes[i]
        right, bottom = outer_padding + width - 1, y - 1
        rect = (right - w + 1, bottom - h + 1, right, bottom)  # dlib: rectangle(p1, p1 - br_corner)
        if not (rect[0] > first[2] or rect[2] < first[0] or rect[1] > first[3] or rect[3] < first[1]):
            break
        rects.append(rect)
        y -= h + padding
        i += 1
    return rects, tensor_rows, tensor_cols


def _resize_align_corners(src: npt.NDArray[np.float32], rows: int, cols: int) -> npt.NDArray[np.float32]:
    """Bilinear resize with corner pixels aligned, as dlib's resize_image does."""
    src_rows, src_cols = src.shape[:2]
    # destination (x, y) samples the source at (x * sx, y * sy): an affine map, inverse given
    matrix = np.array(
        [[(src_cols - 1) / max(cols - 1, 1), 0.0, 0.0], [0.0, (src_rows - 1) / max(rows - 1, 1), 0.0]], np.float64
    )
    out = cv2.warpAffine(
        src, matrix, (cols, rows), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, dtype=np.float32)


def build_pyramid(
    image: RGBImage, mean: tuple[float, float, float], padding: int, outer_padding: int
) -> tuple[npt.NDArray[np.float32], list[Rect]]:
    """The normalised tiled pyramid as an NCHW tensor, and the rectangle of each level in it."""
    rows, cols = image.shape[:2]
    rects, tensor_rows, tensor_cols = pyramid_layout(rows, cols, padding, outer_padding)
    canvas = np.zeros((1, 3, tensor_rows, tensor_cols), np.float32)  # zero is the mean colour
    level = (image.astype(np.float32) - np.asarray(mean, np.float32)) * np.float32(1.0 / 256.0)
    for index, (left, top, right, bottom) in enumerate(rects):
        if index:
            level = _resize_align_corners(level, bottom - top + 1, right - left + 1)
        canvas[0, :, top : bottom + 1, left : right + 1] = level.transpose(2, 0, 1)
    return canvas, rects


def _nearest_rect(rects: list[Rect], x: int, y: int) -> int:
    best, best_dist = 0, math.inf
    for index, (left, top, right, bottom) in enumerate(rects):
        if left <= x <= right and top <= y <= bottom:
            return index
        nx, ny = min(max(x, left), right), min(max(y, top), bottom)
        dist = math.hypot(nx - x, ny - y)
        if dist < best_dist:
            best, best_dist = index, dist
    return best


def _overlaps(a: Rect, b: Rect, iou_threshold: float) -> bool:
    """dlib's test_box_overlap: intersection over the area of the box bounding both."""
    inner_w = min(a[2], b[2]) - max(a[0], b[0]) + 1
    inner_h = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if inner_w <= 0 or inner_h <= 0:
        return False
    inner = inner_w * inner_h
    outer = (max(a[2], b[2]) - min(a[0], b[0]) + 1) * (max(a[3], b[3]) - min(a[1], b[1]) + 1)
    area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
    area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inner / outer > iou_threshold or inner / area_a > 1.0 or inner / area_b > 1.0


def _round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


@dataclass
class MmodDetector:
    """dlib's CNN face detector. `upsample` doubles the image first: finds faces down to ~40 px."""

    model: OnnxModel
    meta: dict[str, Any]
    upsample: int = 1
    name: str = "mmod"

    def detect(self, image: RGBImage) -> list[Detection]:
        return self.detect_many([image])[0]

    def detect_many(self, images: list[RGBImage]) -> list[list[Detection]]:
        """Faces in each image; images of one size run through the network as one batch."""
        scale = 2**self.upsample
        works: list[npt.NDArray[Any]] = []
        for image in images:
            work: npt.NDArray[Any] = image
            for _ in range(self.upsample):
                work = cv2.resize(work, (work.shape[1] * 2, work.shape[0] * 2), interpolation=cv2.INTER_LINEAR)
            works.append(work)
        found: list[list[Detection]] = [[] for _ in images]
        by_size: dict[tuple[int, ...], list[int]] = {}
        for index, work in enumerate(works):
            by_size.setdefault(work.shape, []).append(index)
        for indices in by_size.values():
            pyramids = [
                build_pyramid(works[i], tuple(self.meta["mean"]), self.meta["padding"], self.meta["outer_padding"])
                for i in indices
            ]
            scores = self.model.run({"pyramid": np.concatenate([p for p, _ in pyramids])})[0]
            for i, (_, rects), score_map in zip(indices, pyramids, scores, strict=True):
                found[i] = self._decode(score_map[0], rects, scale)
        return found

    def _decode(self, scores: npt.NDArray[np.float32], rects: list[Rect], scale: int) -> list[Detection]:
        window_w, window_h = self.meta["window"]
        candidates: list[tuple[float, Rect]] = []
        for r, c in zip(*np.nonzero(scores > 0.0), strict=True):
            x, y = float(c), float(r)
            for kernel, stride, pad in reversed(self.meta["convs"]):
                x, y = x * stride - pad + kernel // 2, y * stride - pad + kernel // 2
            level = _nearest_rect(rects, math.floor(x + 0.5), math.floor(y + 0.5))
            left, top = x - (window_w - 1) / 2 - rects[level][0], y - (window_h - 1) / 2 - rects[level][1]
            right, bottom = left + window_w - 1, top + window_h - 1
            for _ in range(level):
                left, top, right, bottom = (v / PYRAMID_RATE + 0.3 for v in (left, top, right, bottom))
            rect = tuple(_round_half_away(v) for v in (left, top, right, bottom))
            candidates.append((float(scores[r, c]), rect))  # type: ignore[arg-type]
        candidates.sort(key=lambda item: item[0], reverse=True)
        kept: list[tuple[float, Rect]] = []
        for score, rect in candidates:
            if not any(_overlaps(rect, other, self.meta["nms_iou"]) for _, other in kept):
                kept.append((score, rect))
        # an inclusive dlib rect spans pixel edges [l, r + 1); edges scale exactly by 1 / scale
        return [
            Detection(
                box=PixelBox(rect[0] / scale, rect[1] / scale, (rect[2] + 1) / scale, (rect[3] + 1) / scale),
                score=score,
                confidence=mmod_confidence(score),
            )
            for score, rect in kept
        ]


@dataclass
class HogDetector:
    """dlib's HOG + linear SVM frontal face detector (fast, frontal faces of about 80 px and up)."""

    upsample: int = 1
    name: str = "hog"

    def __post_init__(self) -> None:
        import dlib  # the runtime dependency that also provides landmarks and face chips

        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: RGBImage) -> list[Detection]:
        rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
        return [
            Detection(
                box=PixelBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1),
                score=float(s),
                confidence=mmod_confidence(float(s)),
            )
            for r, s in zip(rects, scores, strict=True)
        ]
