"""The image transforms of the hard_faces dev set; each returns the new image and where the faces went.

Every transform is exact for the boxes: crops and resizes map them through `Box.mapped`, pastes add the
paste position, rotations use `boxes.rotated_face_box`. Randomness comes from the `random.Random` passed
in, so a seed gives the same images on every run.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

import cv2
import numpy as np
from boxes import Box, rotated_face_box
from PIL import Image, ImageDraw, ImageFilter

SEPIA = np.array([1.0, 0.86, 0.66])  # the brown of a toned print: red kept, blue lowered


def crop_resize(image: Image.Image, region: Box, width: int, height: int) -> Image.Image:
    """`region` (float pixel edges) resampled to width x height with a Lanczos filter."""
    box = (region.left, region.top, region.right, region.bottom)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box)


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@dataclass(frozen=True)
class Scan:
    """How an "old scanned photo" is made: gray, gamma, squeezed range, blur, grain, maybe sepia, JPEG."""

    gamma: float
    span: float  # the fraction of 0-255 the photo keeps (0.4-0.6: low contrast)
    low: float  # where that range starts
    blur: float  # Gaussian radius, px
    grain: float  # noise sigma, in 0-255 levels
    sepia: bool
    quality: int

    @classmethod
    def draw(cls, rng: random.Random) -> Scan:
        span = rng.uniform(0.4, 0.6)
        return cls(
            gamma=rng.uniform(0.7, 1.5),
            span=span,
            low=rng.uniform(0.12, 0.92 - span),
            blur=rng.uniform(0.4, 1.3),
            grain=rng.uniform(3.0, 10.0),
            sepia=rng.random() < 1 / 3,
            quality=rng.randint(30, 50),
        )

    def describe(self) -> str:
        return (
            f"scan(gamma={self.gamma:.2f},range={self.span:.2f}@{self.low:.2f},blur={self.blur:.2f},"
            f"grain={self.grain:.1f},{'sepia,' if self.sepia else ''}jpeg={self.quality})"
        )

    def tags(self) -> list[str]:
        return ["gray", "lowcontrast", "grain", "blur", "jpeg", *(["sepia"] if self.sepia else [])]

    def apply(self, image: Image.Image, noise_seed: int) -> bytes:
        blurred = image.convert("L").filter(ImageFilter.GaussianBlur(self.blur))
        level = (np.asarray(blurred, np.float64) / 255.0) ** self.gamma
        level = (self.low + self.span * level) * 255.0
        level += np.random.default_rng(noise_seed).normal(0.0, self.grain, level.shape)
        if self.sepia:
            pixels = np.clip(level[..., None] * SEPIA, 0, 255).astype(np.uint8)
            return jpeg(Image.fromarray(pixels, "RGB"), self.quality)
        return jpeg(Image.fromarray(np.clip(level, 0, 255).astype(np.uint8), "L"), self.quality)


def feathered_ellipse(width: int, height: int) -> Image.Image:
    """An alpha mask: an ellipse filling the patch, its edge blurred so no seam shows."""
    mask = Image.new("L", (width, height), 0)
    inset = max(1, round(min(width, height) / 12))
    ImageDraw.Draw(mask).ellipse((inset, inset, width - 1 - inset, height - 1 - inset), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(inset / 1.5))


@dataclass(frozen=True)
class Patch:
    """A head to paste: a region of a portrait around its face box."""

    image: Image.Image
    face: Box
    margin: float  # of the face box's size on each side

    @property
    def region(self) -> Box:
        return self.face.grown(self.margin)


def paste_faces(
    canvas: Image.Image, patches: list[Patch], heights: list[float], rng: random.Random
) -> list[Box] | None:
    """Paste each patch scaled so its face box is `heights[i]` px tall, where it overlaps no other patch.

    Returns the faces' boxes on the canvas; None, with the canvas untouched, when they do not all fit."""
    spots: list[Box] = []
    for patch, target in zip(patches, heights, strict=True):
        scale = target / patch.face.height
        width, height = max(1, round(patch.region.width * scale)), max(1, round(patch.region.height * scale))
        if width >= canvas.width or height >= canvas.height:
            return None
        for _ in range(300):
            x, y = rng.randrange(0, canvas.width - width), rng.randrange(0, canvas.height - height)
            spot = Box(x, y, x + width, y + height)
            if not any(_overlap(spot, other) for other in spots):
                spots.append(spot)
                break
        else:
            return None
    faces: list[Box] = []
    for patch, spot in zip(patches, spots, strict=True):
        width, height = round(spot.width), round(spot.height)
        head = crop_resize(patch.image, patch.region, width, height)
        canvas.paste(head, (round(spot.left), round(spot.top)), feathered_ellipse(width, height))
        faces.append(patch.face.mapped(patch.region, width, height, spot.left, spot.top))
    return faces


def _overlap(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


def rotate(image: Image.Image, face: Box, angle: float) -> tuple[Image.Image, Box] | None:
    """The photo turned by `angle` degrees (counter-clockwise as seen) about its centre, same size, the
    corners filled by reflection; None when the turned face would leave the frame."""
    width, height = image.size
    cx, cy = width / 2, height / 2  # pixel edges: the centre of the frame
    truth, hull = rotated_face_box(face, angle, cx, cy)
    if not hull.inside(width, height):
        return None
    # OpenCV counts pixel centres: the frame's centre is ((w - 1) / 2, (h - 1) / 2) there
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
    pixels = cv2.warpAffine(
        np.asarray(image.convert("RGB")),
        matrix,
        (width, height),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    return Image.fromarray(pixels, "RGB"), truth


def quarter_turn(image: Image.Image, face: Box, turns: int) -> tuple[Image.Image, Box]:
    """The photo turned by 90 degrees `turns` times counter-clockwise (a camera held sideways): exact."""
    width, height = image.size
    box = face
    for _ in range(turns % 4):
        # (x, y) -> (y, width - x) on an image whose width becomes its height
        box = Box(box.top, width - box.right, box.bottom, width - box.left)
        width, height = height, width
    method = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}
    return (image.transpose(method[turns % 4]) if turns % 4 else image.copy()), box


def downscale_to(image: Image.Image, max_pixels: float) -> Image.Image:
    """The image shrunk (Lanczos) to at most `max_pixels`; the same image when it is small enough."""
    area = image.width * image.height
    if area <= max_pixels:
        return image
    factor = math.sqrt(max_pixels / area)
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)
