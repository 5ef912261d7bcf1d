"""Rekognition-style image quality of a face region: Brightness and Sharpness, both 0-100."""

from __future__ import annotations

import math

import cv2
import numpy as np

from faceindex.types import ImageQuality, PixelBox, RGBImage

_SHARPNESS_SCALE = 100.0  # variance of the Laplacian at which sharpness reaches ~63


def face_quality(image: RGBImage, box: PixelBox) -> ImageQuality:
    height, width = image.shape[:2]
    left, top = max(0, int(box.left)), max(0, int(box.top))
    right, bottom = min(width, math.ceil(box.right)), min(height, math.ceil(box.bottom))
    if right - left < 2 or bottom - top < 2:
        return ImageQuality(Brightness=0.0, Sharpness=0.0)
    gray = cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_RGB2GRAY)
    # Sharpness is measured at a fixed face size so that big and small faces compare fairly.
    gray = cv2.resize(gray, (112, 112), interpolation=cv2.INTER_AREA)
    brightness = float(gray.mean()) / 255.0 * 100.0
    variance = float(cv2.Laplacian(gray.astype(np.float64), cv2.CV_64F).var())
    sharpness = 100.0 * (1.0 - math.exp(-variance / _SHARPNESS_SCALE))
    return ImageQuality(Brightness=round(brightness, 4), Sharpness=round(sharpness, 4))
