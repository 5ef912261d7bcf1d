"""What the pipeline needs of each kind of model. `models.registry` builds them by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from faceindex.types import Detection, PixelBox, Points, RGBImage


class Detector(Protocol):
    name: str

    def detect(self, image: RGBImage) -> list[Detection]: ...


@dataclass(frozen=True)
class FaceLandmarks:
    """One face's landmarks as a landmarker reports them."""

    points: Points  # K x 2 image pixels: FaceMesh 468, dlib 68 or dlib 5
    presence: float | None = None  # the model's probability that the face is a face, where it judges
    points3d: npt.NDArray[np.float64] | None = None  # K x 3 (pixels; z away from the camera), where it has depth


class Landmarker(Protocol):
    name: str

    def landmarks(self, image: RGBImage, boxes: list[PixelBox], five: list[Points]) -> list[FaceLandmarks]:
        """One result per box, in order. `five` is dlib's 5-point shape of each box (alignment's points)."""
        ...


class Verifier(Protocol):
    name: str

    def confirm(self, image: RGBImage, boxes: list[PixelBox]) -> list[Detection | None]:
        """For each proposal, the verifier's own detection of that face, or None when it sees none."""
        ...


class Embedder(Protocol):
    def embed(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """N x 150 x 150 x 3 aligned RGB chips -> N x 128 descriptors."""
        ...
