"""Issue 11 on the test photos: close-up crops, the upsample setting, pose under mirroring, confidence and
QualityFilter on clean and degraded faces. The dev-set figures are in bench/detection.py and bench/pose.py."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceindex.config import Settings
from faceindex.pipeline import FaceEngine
from faceindex.service.quality import rejection_reasons
from faceindex.types import BoundingBox, FaceDetail, ImageQuality, Pose, RGBImage

MARGINS = (-0.05, 0.0, 0.1, 0.25)  # of the face box's width, each side; -5% cuts into the face
SIDES = (112, 150, 256)


def single_faces(engine: FaceEngine, testdata: Path) -> Iterator[tuple[Path, RGBImage]]:
    for path in sorted((testdata / "faces").glob("*/*")) + sorted((testdata / "large").glob("*.jpg")):
        yield path, engine.decode(path).pixels


def close_up(pixels: RGBImage, box: tuple[float, float, float, float], margin: float, side: int) -> RGBImage:
    left, top, right, bottom = box
    pad = margin * (right - left)
    height, width = pixels.shape[:2]
    x0, y0 = max(0, int(left - pad)), max(0, int(top - pad))
    x1, y1 = min(width, int(right + pad)), min(height, int(bottom + pad))
    return np.ascontiguousarray(cv2.resize(pixels[y0:y1, x0:x1], (side, side), interpolation=cv2.INTER_AREA))


def test_a_face_that_fills_the_image_is_found(engine: FaceEngine, testdata: Path) -> None:
    """ID photos and avatars: before the padded pass BlazeFace found 8 of these 48 crops at margin 0."""
    missed, count = [], 0
    for path, pixels in single_faces(engine, testdata):
        face = engine.analyze(pixels, embed=False)[0]
        for margin in MARGINS:
            for side in SIDES:
                crop = close_up(pixels, (face.box.left, face.box.top, face.box.right, face.box.bottom), margin, side)
                count += 1
                found = engine.analyze(crop, embed=False)
                if len(found) != 1 or found[0].box.width < side * 0.5:
                    missed.append((path.name, margin, side, len(found)))
    assert count >= 150 and not missed


def test_upsample_reaches_smaller_faces(engine: FaceEngine, testdata: Path) -> None:
    """FACEINDEX_DETECTOR_UPSAMPLE works for the default detector: in a crowd whose faces are 18-29 px,
    each step up finds more (seen: 1, 44, 51 faces at upsample 0, 1, 2)."""
    pixels = engine.decode(testdata / "crowd/1.jpg").pixels
    counts = [len(engine.with_detector("blazeface", upsample).detect(pixels)) for upsample in (0, 1, 2)]
    assert counts[0] < counts[1] < counts[2]
    assert Settings.from_env({"FACEINDEX_DETECTOR_UPSAMPLE": "2"}).detector_upsample == 2


def test_pose_is_consistent_under_mirroring(engine: FaceEngine, testdata: Path) -> None:
    """A mirrored photo negates Yaw and Roll and keeps Pitch: median error <= 2 degrees (issue 11.3)."""
    errors: list[tuple[float, float, float]] = []
    for _, pixels in single_faces(engine, testdata):
        pose = engine.analyze(pixels, embed=False)[0].detail.Pose
        mirrored = engine.analyze(np.ascontiguousarray(pixels[:, ::-1]), embed=False)[0].detail.Pose
        assert pose is not None and mirrored is not None
        errors.append((abs(pose.Roll + mirrored.Roll), abs(pose.Yaw + mirrored.Yaw), abs(pose.Pitch - mirrored.Pitch)))
    for axis in range(3):
        assert statistics.median(e[axis] for e in errors) <= 2.0, errors


def test_clear_faces_score_99_and_pass_quality_filter_auto(engine: FaceEngine, testdata: Path) -> None:
    for path, _ in single_faces(engine, testdata):
        decoded = engine.decode(path)
        face = engine.analyze(decoded, embed=False)[0].detail
        assert face.Confidence >= 99.0, path
        assert rejection_reasons(face, decoded.width, decoded.height, "AUTO") == [], path


@pytest.mark.parametrize(
    ("degrade", "reason"),
    [
        (lambda p, side: cv2.GaussianBlur(p, (0, 0), sigmaX=side / 25), "LOW_SHARPNESS"),
        (lambda p, side: (p.astype(np.float32) * 0.06).astype(np.uint8), "LOW_BRIGHTNESS"),
        (lambda p, side: _tiny(p, side), "SMALL_BOUNDING_BOX"),
    ],
    ids=["blurred", "dark", "tiny"],
)
def test_quality_filter_auto_refuses_degraded_faces(engine: FaceEngine, testdata: Path, degrade, reason) -> None:  # type: ignore[no-untyped-def]
    """Each degraded face that is still found is refused for the reason named (or not found at all)."""
    refused = found = 0
    for _, pixels in single_faces(engine, testdata):
        side = engine.analyze(pixels, embed=False)[0].box.width
        worse = np.ascontiguousarray(degrade(pixels, side))
        height, width = worse.shape[:2]
        for face in engine.analyze(worse, embed=False):
            found += 1
            refused += reason in rejection_reasons(face.detail, width, height, "AUTO")
    assert refused == found
    assert reason != "SMALL_BOUNDING_BOX" or found >= 10  # small, not lost: BlazeFace still finds them


def _tiny(pixels: RGBImage, side: float) -> RGBImage:
    """The photo shrunk until its face is 24 px wide, on a grey canvas of the original size."""
    scale = 24 / side
    small = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full_like(pixels, 128)
    canvas[: small.shape[0], : small.shape[1]] = small
    return canvas


def test_quality_filter_refuses_extreme_poses() -> None:
    def face(yaw: float, pitch: float) -> FaceDetail:
        return FaceDetail(
            BoundingBox=BoundingBox(Width=0.5, Height=0.5, Left=0.25, Top=0.25),
            Confidence=99.9,
            Pose=Pose(Roll=0.0, Yaw=yaw, Pitch=pitch),
            Quality=ImageQuality(Brightness=50.0, Sharpness=90.0),
        )

    assert rejection_reasons(face(10, 5), 400, 400, "AUTO") == []
    assert rejection_reasons(face(75, 0), 400, 400, "AUTO") == ["EXTREME_POSE"]
    assert rejection_reasons(face(0, -55), 400, 400, "AUTO") == ["EXTREME_POSE"]
