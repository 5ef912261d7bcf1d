"""EyesOpen and MouthOpen from 68-point landmarks (aspect ratios of the eyelids and lips)."""

from __future__ import annotations

import math

import numpy as np

from faceindex.models.landmarks import Points
from faceindex.types import BoolAttribute

EYE_OPEN_RATIO = 0.2  # eye aspect ratio (Soukupova & Cech 2016): closed eyes fall below ~0.2
MOUTH_OPEN_RATIO = 0.12  # inner-lip gap over mouth width


def _attribute(ratio: float, threshold: float, spread: float) -> BoolAttribute:
    margin = (ratio - threshold) / spread
    confidence = 50.0 + 50.0 * math.tanh(abs(float(margin)))
    return BoolAttribute(Value=bool(ratio > threshold), Confidence=round(confidence, 3))


def _eye_ratio(eye: Points) -> float:
    vertical = float(np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4]))
    return vertical / (2.0 * max(float(np.linalg.norm(eye[0] - eye[3])), 1e-6))


def eyes_open(points: Points) -> BoolAttribute:
    ratio = (_eye_ratio(points[36:42]) + _eye_ratio(points[42:48])) / 2.0
    return _attribute(ratio, EYE_OPEN_RATIO, 0.05)


def mouth_open(points: Points) -> BoolAttribute:
    gap = float(np.linalg.norm(points[62] - points[66]))
    width = max(float(np.linalg.norm(points[48] - points[54])), 1e-6)
    return _attribute(gap / width, MOUTH_OPEN_RATIO, 0.08)
