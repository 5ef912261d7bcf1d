"""`--draw` marks: sized to each face, so a small face is not buried and a big one is not drawn in hairlines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceindex.cli.draw import draw_faces, draw_target
from faceindex.errors import InvalidParameter
from faceindex.types import BoundingBox, FaceDetail, Landmark


def _edge_thickness(pixels: np.ndarray, column: int, edge_row: int) -> int:
    """Rows of box green in `column` around a box's top edge at `edge_row`."""
    window = pixels[edge_row - 15 : edge_row + 15, column]
    return int(np.sum((window[:, 1] > 150) & (window[:, 0] < 80) & (window[:, 2] < 80)))


def test_marks_are_sized_to_the_face(tmp_path: Path) -> None:
    # BoundingBox(Width, Height, Left, Top): a 40 px face at (100, 600) and a 500 px one at (400, 400)
    small = FaceDetail(BoundingBox(0.04, 0.04, 0.1, 0.6), 99.0, (Landmark("nose", 0.13, 0.62),))
    big = FaceDetail(BoundingBox(0.5, 0.5, 0.4, 0.4), 99.0, (Landmark("nose", 0.6, 0.6),))
    out = tmp_path / "drawn.png"
    draw_faces(np.full((1000, 1000, 3), 128, np.uint8), [small, big], out)
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("RGB"))
    thin, thick = _edge_thickness(pixels, 120, 600), _edge_thickness(pixels, 650, 400)
    assert thin >= 1 and thick >= 4 * thin, (thin, thick)


def test_draw_target_is_checked_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="png"):
        draw_target(tmp_path / "out.gif", 1)
    with pytest.raises(InvalidParameter, match="give a folder"):
        draw_target(tmp_path / "out.jpg", 2)
    folder = draw_target(tmp_path / "drawings", 3)
    assert (tmp_path / "drawings").is_dir()
    # one PNG per image, names kept apart when two images share a stem
    assert folder.path_for("a/1.jpg") == tmp_path / "drawings" / "a_1.png"
    assert folder.path_for("1.jpg").name == "1.png" and folder.path_for("1.png").name == "1-2.png"
