"""`--draw`: the image with face boxes and landmarks, written as PNG or JPEG."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceindex.errors import InvalidParameter
from faceindex.types import FaceDetail, RGBImage


def draw_faces(pixels: RGBImage, faces: list[FaceDetail], out: Path) -> None:
    canvas = np.ascontiguousarray(pixels[:, :, ::-1])  # OpenCV draws in BGR
    height, width = canvas.shape[:2]
    thickness = max(1, round(max(width, height) / 500))
    for index, face in enumerate(faces):
        box = face.BoundingBox
        top_left = (round(box.Left * width), round(box.Top * height))
        bottom_right = (round((box.Left + box.Width) * width), round((box.Top + box.Height) * height))
        cv2.rectangle(canvas, top_left, bottom_right, (0, 200, 0), thickness)
        cv2.putText(
            canvas,
            str(index),
            (top_left[0], max(0, top_left[1] - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 * thickness,
            (0, 200, 0),
            thickness,
        )
        for landmark in face.Landmarks:
            centre = (round(landmark.X * width), round(landmark.Y * height))
            cv2.circle(canvas, centre, thickness + 1, (0, 0, 255), -1)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InvalidParameter(f"--draw writes .png or .jpg files, not {out.suffix or 'no extension'}")
    if not cv2.imwrite(str(out), canvas):
        raise InvalidParameter(f"could not write {out}")
