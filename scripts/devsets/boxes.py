"""Face boxes for the detection dev sets: pixel edges (left/top inclusive, right/bottom exclusive), as
faceindex's PixelBox, and the exact maps that crops, resizes, pastes and rotations apply to them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
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
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def grown(self, fx: float, fy: float | None = None) -> Box:
        """The box with `fx` of its width added on the left and on the right (`fy` of its height above and
        below); negative values shrink it."""
        fy = fx if fy is None else fy
        dx, dy = fx * self.width, fy * self.height
        return Box(self.left - dx, self.top - dy, self.right + dx, self.bottom + dy)

    def inside(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.top >= 0 and self.right <= width and self.bottom <= height

    def mapped(self, region: Box, out_width: float, out_height: float, dx: float = 0.0, dy: float = 0.0) -> Box:
        """Where this box lands when `region` is resized to out_width x out_height and placed at (dx, dy)."""
        sx, sy = out_width / region.width, out_height / region.height
        return Box(
            (self.left - region.left) * sx + dx,
            (self.top - region.top) * sy + dy,
            (self.right - region.left) * sx + dx,
            (self.bottom - region.top) * sy + dy,
        )

    def scaled(self, factor: float) -> Box:
        return Box(self.left * factor, self.top * factor, self.right * factor, self.bottom * factor)

    def as_ints(self) -> tuple[int, int, int, int]:
        return (math.floor(self.left), math.floor(self.top), math.ceil(self.right), math.ceil(self.bottom))


def iou(a: Box, b: Box) -> float:
    inner_w = min(a.right, b.right) - max(a.left, b.left)
    inner_h = min(a.bottom, b.bottom) - max(a.top, b.top)
    if inner_w <= 0 or inner_h <= 0:
        return 0.0
    inner = inner_w * inner_h
    return inner / (a.width * a.height + b.width * b.height - inner)


def rotate_point(x: float, y: float, angle: float, cx: float, cy: float) -> tuple[float, float]:
    """(x, y) turned by `angle` degrees counter-clockwise on screen (y points down) about (cx, cy)."""
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    return cx + c * (x - cx) + s * (y - cy), cy - s * (x - cx) + c * (y - cy)


def rotated_face_box(box: Box, angle: float, cx: float, cy: float) -> tuple[Box, Box]:
    """The ground truth of a face box after the image turns by `angle` about (cx, cy), and the hull.

    The hull is the axis-aligned box of the turned corners; it holds the face's square plus the corners
    the turn brings out, so it is too big by |cos| + |sin| (1.41 at 45 degrees). The face itself keeps its
    size: the ground truth is a box of the original width and height centred on the turned centre, which
    is what an upright-trained detector returns when it finds a tilted face (checked against dlib's CNN on
    the +-15 and +-30 degree photos, see docs/devsets.md).
    """
    corners = [(box.left, box.top), (box.right, box.top), (box.right, box.bottom), (box.left, box.bottom)]
    turned = [rotate_point(x, y, angle, cx, cy) for x, y in corners]
    xs, ys = [p[0] for p in turned], [p[1] for p in turned]
    hull = Box(min(xs), min(ys), max(xs), max(ys))
    mx, my = rotate_point(*box.centre, angle, cx, cy)
    half_w, half_h = box.width / 2, box.height / 2
    return Box(mx - half_w, my - half_h, mx + half_w, my + half_h), hull


def merge(primary: Sequence[Box], secondary: Sequence[Box], threshold: float) -> list[tuple[Box, str]]:
    """The union of two detectors' boxes: every primary box (tagged "cnn_only" when no secondary box
    overlaps it by IoU > threshold), then each secondary box that overlaps no primary box ("hog_only")."""
    merged: list[tuple[Box, str]] = []
    for box in primary:
        confirmed = any(iou(box, other) > threshold for other in secondary)
        merged.append((box, "" if confirmed else "cnn_only"))
    for other in secondary:
        if not any(iou(box, other) > threshold for box in primary):
            merged.append((other, "hog_only"))
    return merged
