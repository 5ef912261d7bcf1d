from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from faceindex.models.blazeface import INPUT, BlazeFaceDetector, blazeface_confidence, tiles, weighted_nms
from faceindex.pipeline import FaceEngine


def test_tiles_cover_the_whole_image_with_overlap() -> None:
    width, height, size = 1137, 910, 384
    squares = tiles(width, height, size, 0.25)
    covered = np.zeros((height, width), bool)
    for x, y, s in squares:
        assert s == size and 0 <= x <= width - size and 0 <= y <= height - size
        covered[y : y + s, x : x + s] = True
    assert covered.all()
    assert tiles(300, 200, 384, 0.25) == [(0, 0, 300)]


def test_weighted_nms_merges_overlapping_boxes_and_keeps_separate_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float64)
    scores = np.array([0.9, 0.6, 0.8])
    kept = weighted_nms(boxes, scores, 0.3)
    assert len(kept) == 2
    merged, score = kept[0]
    assert score == 0.9
    assert 0 < merged[0] < 1  # the score-weighted mean of the two overlapping boxes
    assert kept[1][0].tolist() == [50, 50, 60, 60]


def test_confidence_is_monotonic_with_50_at_the_decision_point() -> None:
    values = [blazeface_confidence(p) for p in np.linspace(0, 1, 101)]
    assert all(b > a for a, b in itertools.pairwise(values))
    assert blazeface_confidence(0.5) == 50.0
    assert blazeface_confidence(0.9) > 99


def _tile_resized_alone(image: np.ndarray, x: int, y: int, size: int) -> np.ndarray:
    """The square as BlazeFace's input, each tile resized on its own (the way before levels)."""
    crop = image[max(y, 0) : y + size, max(x, 0) : x + size]
    scale = INPUT / size
    width, height = max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))
    left = min(round((max(x, 0) - x) * scale), INPUT - width)
    top = min(round((max(y, 0) - y) * scale), INPUT - height)
    tensor = np.full((INPUT, INPUT, 3), -1.0, np.float32)
    resized = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    tensor[top : top + height, left : left + width] = resized.astype(np.float32) / 127.5 - 1.0
    return tensor


def test_tiles_cut_from_one_level_per_size_find_what_tiles_resized_alone_do(
    engine: FaceEngine, testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = engine.decode(testdata / "crowd" / "1.jpg").pixels
    detector = engine.detector
    assert isinstance(detector, BlazeFaceDetector)
    height, width = image.shape[:2]
    for size in (INPUT * 2, 640, max(width, height)):
        level = BlazeFaceDetector._level(image, size)
        for x, y in ((0, 0), (size // 3, size // 5), (-size // 4, -size // 4), (width - size // 2, height - size // 2)):
            cut, alone = BlazeFaceDetector._tile(level, x, y, size), _tile_resized_alone(image, x, y, size)
            assert cut.shape == alone.shape == (INPUT, INPUT, 3)
            assert float(np.abs(cut - alone).mean()) < 0.03, (size, x, y)  # rounding of the tile edges only

    found = detector.detect(image)

    def resized_alone(self: BlazeFaceDetector, pixels: np.ndarray, squares: list[tuple[int, int, int]]) -> Any:
        batch = np.stack([_tile_resized_alone(pixels, x, y, size) for x, y, size in squares])
        raw_boxes, raw_scores = self._run(batch)
        yield from zip(squares, raw_boxes, raw_scores, strict=True)

    monkeypatch.setattr(BlazeFaceDetector, "_run_tiles", resized_alone)
    before = detector.detect(image)
    assert abs(len(found) - len(before)) <= max(1, len(before) // 20)
    centres = np.array([[(d.box.left + d.box.right) / 2, (d.box.top + d.box.bottom) / 2] for d in before])
    for face in found:
        centre = np.array([(face.box.left + face.box.right) / 2, (face.box.top + face.box.bottom) / 2])
        nearest = float(np.min(np.linalg.norm(centres - centre, axis=1)))
        assert nearest <= 0.15 * (face.box.right - face.box.left), face  # the same faces, a few pixels apart
