"""Large and hostile images through a live server: answered cleanly, and their memory given back."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.api.live import LiveServer


def _resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm", "rb") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _striped_png(width: int, height: int) -> bytes:
    """Near the pixel limit yet small on the wire (stripes compress ~300:1)."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, ::7] = 200
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def test_memory_is_given_back_after_a_large_request(server: LiveServer, rekognition: Any, testdata: Path) -> None:
    """A 40 MP image needs ~0.4 GB while it is analysed; afterwards the server holds no more than it did
    (glibc alone would keep ~200 MB of it resident for good)."""
    assert server.process is not None
    photo = next(p for p in sorted((testdata / "multi").iterdir()) if p.is_file()).read_bytes()
    big = _striped_png(6300, 6300)
    rekognition.detect_faces(Image={"Bytes": big})  # the models' working memory for large inputs, once
    rekognition.detect_faces(Image={"Bytes": photo})
    before = _resident_bytes(server.process.pid)
    assert rekognition.detect_faces(Image={"Bytes": big})["FaceDetails"] == []
    after = _resident_bytes(server.process.pid)
    assert after - before < 100 * 1024 * 1024, (before, after)


def test_a_header_that_claims_36_megapixels_without_the_data_is_refused(rekognition: Any) -> None:
    out = io.BytesIO()
    Image.new("RGB", (6000, 6000), (90, 90, 90)).save(out, "JPEG", quality=10)
    data = out.getvalue()
    sos = data.find(b"\xff\xda")
    fake = data[: sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big") + 100] + b"\xff\xd9"
    try:
        rekognition.detect_faces(Image={"Bytes": fake})
    except rekognition.exceptions.InvalidImageFormatException as error:
        assert "truncated" in str(error)
    else:
        raise AssertionError("a JPEG without its scan data was decoded")


def test_a_long_thin_image_is_answered(rekognition: Any) -> None:
    """80 x 30000 once made the server allocate 3.2 GB; 100000 x 80 gave HTTP 500 (MemoryError)."""
    for width, height in [(80, 30000), (100000, 80)]:
        assert rekognition.detect_faces(Image={"Bytes": _striped_png(width, height)})["FaceDetails"] == []
