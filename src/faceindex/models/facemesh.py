"""MediaPipe FaceMesh (468 points, Apache-2.0) on LiteRT: the default source of Rekognition's
landmarks, pose, EyesOpen and MouthOpen.

The model file is MediaPipe's, shipped in `faceindex/models/data/face_landmark.tflite`.
Each face is cropped as MediaPipe does: a square around the detector's box, enlarged 1.5x and
rotated so that the eyes are level, resized to 192x192, values in [0, 1]. Each crop also runs mirrored
and the two meshes are averaged (point i with its mirror partner): the model is not quite symmetric, and
without this a mirrored photo's Yaw was not the negated Yaw (median 1.2 degrees off, up to 4 on the test
photos); it costs one more crop in the same batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from faceindex.models.litert import MODEL_DIRECTORY, TfliteModel, mediapipe_model
from faceindex.types import PixelBox, Points, RGBImage

INPUT_SIZE = 192
ROI_SCALE = 1.5


def model_path() -> Path:
    return mediapipe_model("face_landmark.tflite")


def canonical_face() -> npt.NDArray[np.float64]:
    """MediaPipe's neutral face: 468 x 3, x towards the image right, y up, z towards the camera."""
    return np.loadtxt(MODEL_DIRECTORY / "canonical_face_model.txt", dtype=np.float64)


def mirror_partners(face: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """For each point of the canonical face, the index of its mirror image (itself on the midline)."""
    mirrored = face * [-1.0, 1.0, 1.0]
    distances = np.linalg.norm(face[None, :, :] - mirrored[:, None, :], axis=2)
    return np.asarray(distances.argmin(axis=1))


@dataclass(frozen=True)
class MeshResult:
    points: Points  # 468 x 2 pixel coordinates
    presence: float  # the model's probability that the crop holds a face
    points3d: npt.NDArray[np.float64]  # 468 x 3: pixels, z in pixels too (towards the camera is negative)


@dataclass
class FaceMesh:
    model: TfliteModel
    partners: npt.NDArray[np.intp] = field(default_factory=lambda: mirror_partners(canonical_face()))

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
        count = len(boxes)
        batch = np.concatenate([crops, crops[:, :, ::-1]]).astype(np.float32) * np.float32(1.0 / 255.0)
        outputs = self.model.run(batch)
        raw = next(o for o in outputs if o.size == 2 * count * 1404).reshape(2 * count, 468, 3).astype(np.float64)
        logits = next(o for o in outputs if o.size == 2 * count).reshape(2 * count).astype(np.float64)
        unmirrored = raw[count:][:, self.partners] * [-1.0, 1.0, 1.0] + [INPUT_SIZE, 0.0, 0.0]
        meshes = (raw[:count] + unmirrored) / 2.0
        presences = 1.0 / (1.0 + np.exp(-np.clip((logits[:count] + logits[count:]) / 2.0, -80.0, 80.0)))
        results = []
        for m, mesh, presence in zip(transforms, meshes, presences, strict=True):
            points: Points = mesh[:, :2] @ m[:, :2].T + m[:, 2]
            scale = math.hypot(m[0, 0], m[1, 0])  # crop pixel -> image pixel; z is in crop pixels too
            points3d = np.column_stack([points, mesh[:, 2] * scale])
            results.append(MeshResult(points=points, presence=float(presence), points3d=points3d))
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
