"""MediaPipe FaceMesh (468 points, Apache-2.0) on LiteRT: the default source of Rekognition's
landmarks, pose, EyesOpen and MouthOpen.

The model file is MediaPipe's, shipped in `faceindex/models/data/face_landmark.tflite`.
Each face is cropped as MediaPipe does: a square around the detector's box, enlarged 1.5x and
rotated so that the eyes are level, resized to 192x192, values in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from faceindex.models.litert import TfliteModel, mediapipe_model
from faceindex.types import PixelBox, Points, RGBImage

INPUT_SIZE = 192
ROI_SCALE = 1.5


def model_path() -> Path:
    return mediapipe_model("face_landmark.tflite")


@dataclass(frozen=True)
class MeshResult:
    points: Points  # 468 x 2 pixel coordinates
    presence: float  # the model's probability that the crop holds a face


@dataclass
class FaceMesh:
    model: TfliteModel

    def run(self, image: RGBImage, boxes: list[PixelBox], eyes: list[tuple[Points, Points] | None]) -> list[MeshResult]:
        """Every face in one batch. `eyes` (image-left, image-right eye centre) levels each crop."""
        if not boxes:
            return []
        transforms = [_crop_transform(box, pair) for box, pair in zip(boxes, eyes, strict=True)]
        crops = np.stack(
            [
                cv2.warpAffine(
                    image,
                    m,
                    (INPUT_SIZE, INPUT_SIZE),
                    flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                    borderMode=cv2.BORDER_CONSTANT,
                )
                for m in transforms
            ]
        )
        outputs = self.model.run(crops.astype(np.float32) * np.float32(1.0 / 255.0))
        raw_points = next(o for o in outputs if o.size == len(boxes) * 1404).reshape(len(boxes), 468, 3)
        logits = next(o for o in outputs if o.size == len(boxes)).reshape(len(boxes))
        results = []
        for m, crop_points, logit in zip(transforms, raw_points, logits, strict=True):
            points: Points = crop_points[:, :2].astype(np.float64) @ m[:, :2].T + m[:, 2]
            presence = 1.0 / (1.0 + math.exp(-float(np.clip(logit, -80.0, 80.0))))
            results.append(MeshResult(points=points, presence=presence))
        return results


def _crop_transform(box: PixelBox, eyes: tuple[Points, Points] | None) -> npt.NDArray[np.float64]:
    """The affine map from crop pixels (0..192) to image pixels: a square 1.5x the face box, eyes level."""
    angle = 0.0
    if eyes is not None:
        (lx, ly), (rx, ry) = eyes
        angle = math.atan2(ry - ly, rx - lx)
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    k = max(box.width, box.height) * ROI_SCALE / INPUT_SIZE
    cos, sin = math.cos(angle), math.sin(angle)
    to_image = np.array([[cos * k, -sin * k, 0.0], [sin * k, cos * k, 0.0]])
    to_image[:, 2] = [cx, cy] - to_image[:, :2] @ [INPUT_SIZE / 2, INPUT_SIZE / 2]
    return to_image
