"""EyesOpen and MouthOpen from eyelid and lip landmarks (FaceMesh or the 68-point model)."""

from __future__ import annotations

import math

import numpy as np

from faceindex.analysis.landmarks import scheme_for
from faceindex.types import BoolAttribute, Points

EYE_OPEN_RATIO = 0.2  # eye aspect ratio (Soukupova & Cech 2016): closed eyes fall below ~0.2
MOUTH_OPEN_RATIO = 0.12  # inner-lip gap over mouth width


def _attribute(ratio: float, threshold: float, spread: float) -> BoolAttribute:
    margin = (ratio - threshold) / spread
    confidence = 50.0 + 50.0 * math.tanh(abs(float(margin)))
    return BoolAttribute(Value=bool(ratio > threshold), Confidence=round(confidence, 3))


def _eye_ratio(eye: Points) -> float:
    vertical = float(np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4]))
    return vertical / (2.0 * max(float(np.linalg.norm(eye[0] - eye[3])), 1e-6))


def eyes_open(points: Points) -> BoolAttribute | None:
    eyes = scheme_for(points).eyes
    if eyes is None:
        return None
    ratio = (_eye_ratio(points[list(eyes[0])]) + _eye_ratio(points[list(eyes[1])])) / 2.0
    return _attribute(ratio, EYE_OPEN_RATIO, 0.05)


def mouth_open(points: Points) -> BoolAttribute | None:
    mouth = scheme_for(points).mouth
    if mouth is None:
        return None
    top, bottom, left, right = mouth
    gap = float(np.linalg.norm(points[top] - points[bottom]))
    width = max(float(np.linalg.norm(points[left] - points[right])), 1e-6)
    return _attribute(gap / width, MOUTH_OPEN_RATIO, 0.08)
