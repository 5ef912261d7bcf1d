"""BlazeFace full-range (MediaPipe, Apache-2.0) on LiteRT, run over an image pyramid of tiles.

One 192x192 pass over the whole image finds large faces; passes over overlapping square tiles of
320, 640, 1280 … px find smaller ones. The model sees faces from ~9 px of its input, so 320 px tiles
reach faces of ~15 px; each larger level is used while it is at most half the image's long side,
which keeps every face size inside the range of some level that does not cut it. On the hard_faces dev
set (bench/detection.py) 320 px tiles found 30% / 61% of the faces under 24 / 24-40 px, 448 px tiles
11% / 44%, at 191 against 152 ms per megapixel. `upsample` moves the smallest tile as
face_recognition's number_of_times_to_upsample moves its smallest face: 0 stops at 640 px tiles
(faces of ~30 px and up), 1 at 320 (the default), 2 at 192 (~9 px; 55% / 71%, as dlib's HOG with two
upsamplings, at about twice the time).
A face that fills the image (ID photos, avatars, crops other tools export) is outside what the
full-range model was trained on: the whole-image pass found 8 of 48 such crops. One more pass sees the
image shrunk into the middle of a black square PADDED_SCALE times its long side, where such a face has
the size the model knows (48 of 48).
Detections of all passes are merged by MediaPipe's weighted non-maximum suppression. BlazeFace's
box is tight around eyes and mouth; it is mapped to a dlib-style face box (the box dlib's shape
predictors and our MMOD detector use) by a fixed scale and offset measured on the test photos.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from faceindex.models.litert import TfliteModel
from faceindex.types import Detection, PixelBox, RGBImage

INPUT = 192
GRID = 48  # one anchor per cell of a 48 x 48 grid (stride 4)
RAW_SCORE_LIMIT = 80.0
TILE_BATCH = 16  # tiles per model call
SMALLEST_FACE = 9 / INPUT  # of a tile's side: the smallest face the model finds
SMALLEST_TILE = 320  # at upsample 1
PADDED_SCALE = 2.5  # the close-up pass: the image is 1 / 2.5 of the square it is centred in
# dlib-style box from BlazeFace's: size x0.909, centre moved by (-0.025, -0.049) box widths; measured on
# the 47 test faces that both detectors find (bench/calibrate_blazeface.py).
TO_DLIB_SCALE, TO_DLIB_DX, TO_DLIB_DY = 0.909, -0.025, -0.049


def blazeface_confidence(probability: float) -> float:
    """BlazeFace's face probabilities of clear faces are ~0.9; map them onto Rekognition's habit of
    ~99 for clear faces: 50 at probability 0.5 (the model's decision point), 99.2 at 0.9, monotonic."""
    return 100.0 / (1.0 + math.exp(-12.0 * (probability - 0.5)))


def _anchors() -> npt.NDArray[np.float32]:
    ys, xs = np.mgrid[0:GRID, 0:GRID]
    return np.stack([(xs.ravel() + 0.5) / GRID, (ys.ravel() + 0.5) / GRID], axis=1).astype(np.float32)


def tiles(width: int, height: int, tile: int, overlap: float) -> list[tuple[int, int, int]]:
    """(x, y, size) squares covering the image; the last row and column are pulled inside it."""
    if tile >= max(width, height):
        return [(0, 0, max(width, height))]
    step = max(1, int(tile * (1.0 - overlap)))
    xs = sorted({*range(0, max(width - tile, 0) + 1, step), max(width - tile, 0)})
    ys = sorted({*range(0, max(height - tile, 0) + 1, step), max(height - tile, 0)})
    return [(x, y, tile) for y in ys for x in xs]


def weighted_nms(
    boxes: npt.NDArray[np.float64], scores: npt.NDArray[np.float64], iou: float
) -> list[tuple[npt.NDArray[np.float64], float]]:
    """MediaPipe's weighted NMS: each kept box is the score-weighted mean of the boxes it absorbs."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    alive = np.ones(len(boxes), bool)
    kept = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        overlaps = _iou(boxes[i], boxes) > iou
        group = overlaps & alive
        alive &= ~overlaps
        weights = scores[group]
        kept.append(((boxes[group] * weights[:, None]).sum(axis=0) / weights.sum(), float(scores[i])))
    return kept


def _iou(box: npt.NDArray[np.float64], boxes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    result: npt.NDArray[np.float64] = inter / np.maximum(area + areas - inter, 1e-9)
    return result


def _padded_square(width: int, height: int) -> tuple[int, int, int]:
    """The square PADDED_SCALE times the long side with the image in its middle."""
    size = round(max(width, height) * PADDED_SCALE)
    return (width - size) // 2, (height - size) // 2, size


@dataclass
class BlazeFaceDetector:
    model: TfliteModel
    upsample: int = 1  # 1: tiles down to 320 px, faces of ~15 px; each step halves both
    smallest_tile: int = SMALLEST_TILE  # at upsample 1 (bench/detection.py measures others)
    overlap: float = 0.25
    min_score: float = 0.5  # MediaPipe's own threshold for this model
    nms_iou: float = 0.3
    name: str = "blazeface"
    _anchors: npt.NDArray[np.float32] = field(default_factory=_anchors, repr=False)

    def detect(self, image: RGBImage) -> list[Detection]:
        height, width = image.shape[:2]
        long_side = max(width, height)
        squares = [*tiles(width, height, long_side, 0.0), _padded_square(width, height)]
        smallest = max(INPUT, self.smallest_tile * 2 // 2**self.upsample)
        size = smallest
        # a level whose smallest face (~9 px of the 192 px input) is taller than the image's short side
        # can find nothing: skipping it keeps long, thin images to the cost of their pixels
        short_side = min(width, height)
        while size < long_side and (size == smallest or 2 * size <= long_side) and size * SMALLEST_FACE <= short_side:
            squares += tiles(width, height, size, self.overlap)
            size *= 2
        found_boxes, found_scores = [], []
        for (x0, y0, size), boxes, logits in self._run_tiles(image, squares):
            scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0], -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
            keep = scores >= self.min_score
            if not keep.any():
                continue
            centre = (boxes[keep, 0:2] / INPUT + self._anchors[keep]) * size + (x0, y0)
            half = boxes[keep, 2:4] / INPUT * size / 2
            found_boxes.append(np.concatenate([centre - half, centre + half], axis=1))
            found_scores.append(scores[keep])
        if not found_boxes:
            return []
        merged = weighted_nms(
            np.concatenate(found_boxes).astype(np.float64),
            np.concatenate(found_scores).astype(np.float64),
            self.nms_iou,
        )
        return [self._to_detection(box, score) for box, score in merged]

    def _run_tiles(
        self, image: RGBImage, squares: list[tuple[int, int, int]]
    ) -> Iterator[tuple[tuple[int, int, int], npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
        """Each square with the model's raw boxes and logits, TILE_BATCH squares per call: memory stays
        the same however many tiles a long, thin image needs. The image is scaled once per tile size and
        the tiles cut from that level (resizing each tile apart was a fifth of detection's time; the
        inputs differ by rounding only: tests/test_blazeface.py)."""
        levels: dict[int, RGBImage] = {}
        for start in range(0, len(squares), TILE_BATCH):
            chunk = squares[start : start + TILE_BATCH]
            for _, _, size in chunk:
                if size not in levels:
                    levels[size] = self._level(image, size)
            batch = np.stack([self._tile(levels[size], x, y, size) for x, y, size in chunk])
            raw_boxes, raw_scores = self._run(batch)
            yield from zip(chunk, raw_boxes, raw_scores, strict=True)

    @staticmethod
    def _level(image: RGBImage, size: int) -> RGBImage:
        """The image scaled so that a `size` px square becomes the model's input (never larger than the
        image: squares are at least INPUT px)."""
        height, width = image.shape[:2]
        scale = INPUT / size
        shape = (max(1, round(width * scale)), max(1, round(height * scale)))
        return np.asarray(cv2.resize(image, shape, interpolation=cv2.INTER_AREA))

    @staticmethod
    def _tile(level: RGBImage, x: int, y: int, size: int) -> npt.NDArray[np.float32]:
        """The square at (x, y) of the original image, cut from its level, as a 192 x 192 tensor in
        [-1, 1], zero past the image edge (x and y may be negative)."""
        scale = INPUT / size
        left, top = round(x * scale), round(y * scale)
        inside_left, inside_top = max(left, 0), max(top, 0)
        crop = level[inside_top : top + INPUT, inside_left : left + INPUT]
        tensor = np.full((INPUT, INPUT, 3), -1.0, np.float32)  # zero pixels
        row, column = inside_top - top, inside_left - left
        tensor[row : row + crop.shape[0], column : column + crop.shape[1]] = (
            crop.astype(np.float32) * np.float32(1.0 / 127.5) - 1.0
        )
        return tensor

    def _run(self, batch: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        outputs = self.model.run(batch)
        # the graph's final reshape has a fixed leading 1: [N, 48, 48, k] comes out as [1, N * 2304, k]
        boxes = next(o for o in outputs if o.shape[-1] == 16).reshape(len(batch), GRID * GRID, 16)
        scores = next(o for o in outputs if o.shape[-1] == 1).reshape(len(batch), GRID * GRID, 1)
        return boxes, scores

    @staticmethod
    def _to_detection(box: npt.NDArray[np.float64], score: float) -> Detection:
        width = box[2] - box[0]
        cx = (box[0] + box[2]) / 2 + TO_DLIB_DX * width
        cy = (box[1] + box[3]) / 2 + TO_DLIB_DY * width
        half = width * TO_DLIB_SCALE / 2
        return Detection(
            box=PixelBox(float(cx - half), float(cy - half), float(cx + half), float(cy + half)),
            score=score,
            confidence=blazeface_confidence(score),
        )
