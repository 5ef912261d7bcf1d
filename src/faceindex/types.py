"""Plain, frozen value types shared by every layer. Field names follow Rekognition's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

RGBImage = npt.NDArray[np.uint8]  # H x W x 3, RGB
Descriptor = npt.NDArray[np.float32]
Points = npt.NDArray[np.float64]  # K x 2 landmark pixel coordinates (x, y)


@dataclass(frozen=True)
class PixelBox:
    """A box in pixel coordinates of the (orientation-corrected) image; right/bottom exclusive."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def to_ratios(self, image_width: int, image_height: int) -> BoundingBox:
        return BoundingBox(
            Width=self.width / image_width,
            Height=self.height / image_height,
            Left=self.left / image_width,
            Top=self.top / image_height,
        )


@dataclass(frozen=True)
class Detection:
    box: PixelBox
    score: float  # the detector's raw score (MMOD: > 0 means a face)
    confidence: float  # 0-100


@dataclass(frozen=True)
class BoundingBox:
    """Rekognition's BoundingBox: ratios of the image width and height (may exceed 0..1)."""

    Width: float
    Height: float
    Left: float
    Top: float


@dataclass(frozen=True)
class Landmark:
    Type: str
    X: float  # ratio of image width
    Y: float  # ratio of image height


@dataclass(frozen=True)
class Pose:
    Roll: float
    Yaw: float
    Pitch: float


@dataclass(frozen=True)
class ImageQuality:
    Brightness: float
    Sharpness: float


@dataclass(frozen=True)
class BoolAttribute:
    Value: bool
    Confidence: float


@dataclass(frozen=True)
class FaceDetail:
    """Rekognition's FaceDetail, for the attributes faceindex computes (see docs/analysis.md)."""

    BoundingBox: BoundingBox
    Confidence: float
    Landmarks: tuple[Landmark, ...] = ()
    Pose: Pose | None = None
    Quality: ImageQuality | None = None
    EyesOpen: BoolAttribute | None = None
    MouthOpen: BoolAttribute | None = None


@dataclass(frozen=True)
class AnalyzedFace:
    """One face as the pipeline returns it: the Rekognition view plus what search needs."""

    detail: FaceDetail
    box: PixelBox
    descriptor: Descriptor | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CompareFacesMatch:
    Similarity: float
    Face: FaceDetail
    FalseMatchRate: float | None = None  # faceindex's: per comparison, the share of strangers this similar


@dataclass(frozen=True)
class CompareFacesResult:
    SourceImageFace: FaceDetail
    FaceMatches: tuple[CompareFacesMatch, ...]
    UnmatchedFaces: tuple[FaceDetail, ...]
