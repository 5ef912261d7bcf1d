"""Descriptor distance -> Rekognition-style similarity (0-100).

    similarity(d) = 100 / (1 + (d / MIDPOINT) ** 8),   MIDPOINT = 0.6 * 4 ** (1 / 8) ~ 0.714

The curve is 100 at distance 0, exactly 80 at dlib's decision distance 0.6 (so Rekognition's
default threshold of 80 means dlib's own decision), 50 at ~0.71, and falls smoothly towards 0
for clearly different people. It is strictly decreasing, so a threshold on similarity is a
threshold on distance: `distance_for(similarity)` is its inverse.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DECISION_DISTANCE = 0.6
DECISION_SIMILARITY = 80.0
STEEPNESS = 8.0
MIDPOINT = DECISION_DISTANCE * (DECISION_SIMILARITY / (100.0 - DECISION_SIMILARITY)) ** (1.0 / STEEPNESS)


def similarity(distance: npt.ArrayLike) -> npt.NDArray[np.float64]:
    d = np.asarray(distance, dtype=np.float64)
    out: npt.NDArray[np.float64] = 100.0 / (1.0 + (d / MIDPOINT) ** STEEPNESS)
    return out


def distance_for(similarity_value: float) -> float:
    """The largest distance whose similarity is >= `similarity_value` (0 < value < 100)."""
    return float(MIDPOINT * (100.0 / similarity_value - 1.0) ** (1.0 / STEEPNESS))


def distances(query: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.linalg.norm(candidates.astype(np.float64) - query.astype(np.float64), axis=1)
    return out
