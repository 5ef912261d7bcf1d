from __future__ import annotations

import itertools

import numpy as np

from faceindex.models.blazeface import blazeface_confidence, tiles, weighted_nms


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
