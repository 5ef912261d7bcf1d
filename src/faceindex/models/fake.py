"""A face engine without models, for fast tests of everything above the pipeline.

`FakeEngine` satisfies `pipeline.FaceAnalyzer`: it decodes images for real (same limits, same
errors) and finds a "face" wherever there is a square of strongly saturated colour, at least
`MIN_SIDE` pixels on a side, on a plain background. Its descriptor depends only on the colour, so two
squares of one colour are the same person (distance 0) and squares of colours a bin apart are
strangers (distance ~1.3, far past the match threshold of 0.6). `draw_faces` makes such images.

Services, stores, adapters and their tests run on it in milliseconds; the real models are tested
on real photos in the other suites.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from faceindex.analysis import landmarks, quality
from faceindex.config import Settings
from faceindex.imaging.decode import DecodedImage, ImageInput, decode_image
from faceindex.types import AnalyzedFace, BoolAttribute, Descriptor, FaceDetail, PixelBox, Pose, RGBImage

MIN_SIDE = 20
MIN_SATURATION = 96  # max - min channel value of a "face" pixel; greys and white are background
COLOUR_BIN = 32  # colours in the same bin of every channel are one person
# five points in a square face (dlib's 5-point order: right eye outer, inner, left eye inner, outer, nose)
_FEATURES = ((0.2, 0.32, 0.4, 0.44), (0.6, 0.32, 0.8, 0.44), (0.3, 0.7, 0.7, 0.78))  # fractions of the side
_FIVE_POINTS = np.array([[0.78, 0.38], [0.60, 0.38], [0.40, 0.38], [0.22, 0.38], [0.50, 0.62]])


@dataclass
class FakeEngine:
    settings: Settings = field(default_factory=Settings)

    def warm_up(self) -> None:
        """Nothing to load."""

    def decode(self, image: ImageInput | DecodedImage) -> DecodedImage:
        return image if isinstance(image, DecodedImage) else decode_image(image, self.settings.limits)

    def analyze(
        self, image: ImageInput | DecodedImage, attributes: Iterable[str] = ("DEFAULT",), embed: bool = True
    ) -> list[AnalyzedFace]:
        """Every coloured square, largest first, as FaceEngine.analyze reports faces."""
        decoded = self.decode(image)
        pixels = decoded.pixels
        boxes = sorted(_squares(pixels), key=lambda box: box.area, reverse=True)
        wanted = set(attributes)
        return [self._face(pixels, box, "ALL" in wanted, embed) for box in boxes]

    @staticmethod
    def _face(pixels: RGBImage, box: PixelBox, every_attribute: bool, embed: bool) -> AnalyzedFace:
        height, width = pixels.shape[:2]
        points = _FIVE_POINTS * [box.width, box.height] + [box.left, box.top]
        detail = FaceDetail(
            BoundingBox=box.to_ratios(width, height),
            Confidence=99.9,
            Landmarks=landmarks.to_rekognition(points, width, height),
            Pose=Pose(Roll=0.0, Yaw=0.0, Pitch=0.0),
            Quality=quality.face_quality(pixels, box),
            EyesOpen=BoolAttribute(Value=True, Confidence=99.0) if every_attribute else None,
            MouthOpen=BoolAttribute(Value=False, Confidence=99.0) if every_attribute else None,
        )
        descriptor = colour_descriptor(_mean_colour(pixels, box)) if embed else None
        return AnalyzedFace(detail=detail, box=box, descriptor=descriptor)


def colour_descriptor(rgb: Sequence[float]) -> Descriptor:
    """A 128-D descriptor shaped like dlib's (a shared mean, spread ~0.08 a dimension), fixed by the bin."""
    key = bytes(int(channel) // COLOUR_BIN for channel in rgb)
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    base = np.random.default_rng(0).normal(0.0, 0.1, 128)
    return (base + rng.normal(0.0, 0.08, 128)).astype(np.float32)


def draw_faces(
    colours: Sequence[tuple[int, int, int]], size: tuple[int, int] = (480, 360), side: int = 100, fmt: str = "PNG"
) -> bytes:
    """An image of `size` with one square "face" of each colour, left to right, as encoded bytes."""
    width, height = size
    canvas = np.full((height, width, 3), 235, np.uint8)
    gap = max(1, (width - side * len(colours)) // (len(colours) + 1))
    for index, colour in enumerate(colours):
        left = gap + index * (side + gap)
        top = (height - side) // 2
        canvas[top : top + side, left : left + side] = colour
        for x0, y0, x1, y1 in _FEATURES:  # dark eyes and mouth: edges enough to pass the sharpness bar
            canvas[top + int(y0 * side) : top + int(y1 * side), left + int(x0 * side) : left + int(x1 * side)] = 20
    out = io.BytesIO()
    Image.fromarray(canvas).save(out, fmt)
    return out.getvalue()


def _squares(pixels: RGBImage) -> list[PixelBox]:
    channels = pixels.astype(np.int16)
    saturated = (channels.max(axis=2) - channels.min(axis=2) >= MIN_SATURATION).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(saturated, connectivity=4)
    boxes = []
    for left, top, w, h, _area in stats[1:count]:
        if min(w, h) >= MIN_SIDE:
            boxes.append(PixelBox(float(left), float(top), float(left + w), float(top + h)))
    return boxes


def _mean_colour(pixels: RGBImage, box: PixelBox) -> list[float]:
    region = pixels[int(box.top) : int(box.bottom), int(box.left) : int(box.right)].reshape(-1, 3)
    channels = region.astype(np.int16)
    saturated = region[channels.max(axis=1) - channels.min(axis=1) >= MIN_SATURATION]
    return [float(value) for value in np.median(saturated, axis=0)]
