"""Rekognition's QualityFilter: which detected faces are good enough to index, search or compare.

Rekognition does not publish its thresholds; these are faceindex's, applied to the values it
reports (Confidence, Pose, Quality, box size in pixels). AUTO is MEDIUM.
"""

from __future__ import annotations

from dataclasses import dataclass

from faceindex.errors import InvalidParameter
from faceindex.types import FaceDetail


@dataclass(frozen=True)
class QualityBar:
    confidence: float
    max_yaw: float
    max_pitch: float
    brightness: float
    sharpness: float
    min_side_px: float


BARS = {
    "LOW": QualityBar(confidence=70, max_yaw=75, max_pitch=60, brightness=5, sharpness=5, min_side_px=20),
    "MEDIUM": QualityBar(confidence=90, max_yaw=60, max_pitch=45, brightness=15, sharpness=15, min_side_px=40),
    "HIGH": QualityBar(confidence=98, max_yaw=45, max_pitch=30, brightness=25, sharpness=35, min_side_px=60),
}
FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")


def check_filter(value: str | None, default: str = "AUTO") -> str:
    """The filter named, or `default` when none is given; "" and unknown names are refused."""
    value = default if value is None else value
    if value not in FILTERS:
        raise InvalidParameter(f"QualityFilter must be one of {', '.join(FILTERS)}")
    return value


def rejection_reasons(face: FaceDetail, width: int, height: int, quality_filter: str) -> list[str]:
    """Rekognition's reasons a face is not indexed; empty when it passes."""
    if quality_filter == "NONE":
        return []
    bar = BARS["MEDIUM" if quality_filter == "AUTO" else quality_filter]
    reasons = []
    if face.Pose is not None and (abs(face.Pose.Yaw) > bar.max_yaw or abs(face.Pose.Pitch) > bar.max_pitch):
        reasons.append("EXTREME_POSE")
    low_light = face.Quality is not None and face.Quality.Brightness < bar.brightness
    blurred = face.Quality is not None and face.Quality.Sharpness < bar.sharpness
    if low_light:
        reasons.append("LOW_BRIGHTNESS")
    if blurred:
        reasons.append("LOW_SHARPNESS")
    if face.Confidence < bar.confidence:
        reasons.append("LOW_CONFIDENCE")
    if min(face.BoundingBox.Width * width, face.BoundingBox.Height * height) < bar.min_side_px:
        reasons.append("SMALL_BOUNDING_BOX")
    if low_light and blurred:
        reasons.append("LOW_FACE_QUALITY")
    return reasons
