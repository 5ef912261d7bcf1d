"""`--draw`: each image with its face boxes and landmarks, to one file (one image) or a folder (any number)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from faceindex.errors import InvalidParameter
from faceindex.types import FaceDetail, RGBImage

FILE_SUFFIXES = (".png", ".jpg", ".jpeg")
BOX, LANDMARK = (0, 200, 0), (0, 0, 255)  # BGR


@dataclass
class DrawTarget:
    """Where drawings go: `out` itself, or `out/<name>.png` for each image when `out` is a folder."""

    out: Path
    folder: bool
    _taken: set[str] = field(default_factory=set)

    def path_for(self, name: str) -> Path:
        """The drawing's path for the image named `name` (its path inside the folder given, or its file name)."""
        if not self.folder:
            return self.out
        stem = re.sub(r"[^\w.\-]", "_", str(PurePosixPath(name).with_suffix("")).replace("/", "_")) or "image"
        candidate, n = stem, 1
        while candidate in self._taken:  # a.jpg and a.png in one folder: a.png, a-2.png
            n += 1
            candidate = f"{stem}-{n}"
        self._taken.add(candidate)
        return self.out / f"{candidate}.png"


def draw_target(out: Path, images: int) -> DrawTarget:
    """Checks `--draw OUT` before any image is read: a .png/.jpg file for one image, else a folder
    (made if missing) that receives one PNG per image."""
    suffix = out.suffix.lower()
    if out.is_dir() or (not suffix and not out.exists()):
        out.mkdir(parents=True, exist_ok=True)
        return DrawTarget(out, folder=True)
    if suffix not in FILE_SUFFIXES:
        raise InvalidParameter(
            f"--draw writes a .png or .jpg file, or one PNG per image into a folder: {out} is neither"
        )
    if images > 1:
        raise InvalidParameter(f"--draw {out} is one file, for one image: give a folder to draw {images} images")
    if not out.parent.is_dir():
        raise InvalidParameter(f"--draw {out}: no folder {out.parent}")
    return DrawTarget(out, folder=False)


def draw_faces(pixels: RGBImage, faces: list[FaceDetail], out: Path) -> None:
    canvas = np.ascontiguousarray(pixels[:, :, ::-1])  # OpenCV draws in BGR
    height, width = canvas.shape[:2]
    for index, face in enumerate(faces):
        box = face.BoundingBox
        side = max(1.0, min(box.Width * width, box.Height * height))
        thickness = max(1, round(side / 60))  # marks sized to the face: visible on a big one, not hiding a small one
        top_left = (round(box.Left * width), round(box.Top * height))
        bottom_right = (round((box.Left + box.Width) * width), round((box.Top + box.Height) * height))
        cv2.rectangle(canvas, top_left, bottom_right, BOX, thickness)
        scale = max(0.3, side / 120)
        label_y = top_left[1] - 2 * thickness if top_left[1] > 20 * scale else bottom_right[1] + round(24 * scale)
        cv2.putText(canvas, str(index), (top_left[0], label_y), cv2.FONT_HERSHEY_SIMPLEX, scale, BOX, thickness)
        radius = max(1, round(side / 50))
        for landmark in face.Landmarks:
            centre = (round(landmark.X * width), round(landmark.Y * height))
            cv2.circle(canvas, centre, radius, LANDMARK, -1)
    if not cv2.imwrite(str(out), canvas):
        raise InvalidParameter(f"could not write {out}")
