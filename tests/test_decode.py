from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceindex.config import ImageLimits
from faceindex.errors import ImageTooLarge, InvalidImageFormat, InvalidParameter
from faceindex.imaging.decode import decode_image


def _png_bomb(side: int) -> bytes:
    """A valid grayscale PNG of side x side black pixels, built without holding the pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_pixel_bomb_is_refused_from_the_header_without_decoding() -> None:
    bomb = _png_bomb(16000)
    assert len(bomb) < 400_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="limit of 40000000 pixels"):
        decode_image(bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000_000, "the 256 MB pixel buffer must never be allocated"
    assert elapsed < 10  # generous: shows the refusal did not decode 256 M pixels, not a speed claim


def test_pixel_limit_is_ours_and_settable() -> None:
    image = _png_bomb(7000)  # 49 MP: under Pillow's own guard, over Rekognition's 40 MP
    with pytest.raises(ImageTooLarge, match="7000x7000 = 49000000 pixels; the limit is 40000000"):
        decode_image(image)
    with pytest.raises(ImageTooLarge, match="the limit is 1000000"):
        decode_image(_png_bomb(1001), ImageLimits(max_pixels=1_000_000))


def test_byte_limits_name_the_limit(tmp_path: Path) -> None:
    data = b"\xff\xd8" + b"\x00" * 100
    with pytest.raises(ImageTooLarge, match="limit for image bytes is 50"):
        decode_image(data, ImageLimits(max_bytes=50))
    path = tmp_path / "big.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageTooLarge, match="limit for image files is 50"):
        decode_image(path, ImageLimits(max_file_bytes=50))


def test_small_images_are_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (79, 200)).save(buffer, "PNG")
    with pytest.raises(InvalidParameter, match="at least 80 pixels"):
        decode_image(buffer.getvalue())


def test_format_comes_from_content_not_name(tmp_path: Path, testdata: Path) -> None:
    disguised = tmp_path / "photo.gif"
    disguised.write_bytes((testdata / "edge/formats/hopper.png").read_bytes())
    assert decode_image(disguised).format == "PNG"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("hopper.bmp", "BMP"),
        ("hopper.gif", "GIF"),
        ("hopper.png", "PNG"),
        ("hopper.ppm", "PPM"),
        ("hopper.tif", "TIFF"),
        ("hopper.webp", "WEBP"),
    ],
)
def test_every_format_decodes_to_rgb(testdata: Path, name: str, fmt: str) -> None:
    decoded = decode_image(testdata / "edge/formats" / name)
    assert decoded.format == fmt
    assert decoded.pixels.shape == (128, 128, 3)
    assert decoded.pixels.dtype == np.uint8


@pytest.mark.parametrize("name", ["grayscale/hopper_gray.jpg", "cmyk/pil_sample_cmyk.jpg", "alpha/32bit.png"])
def test_colour_modes_become_rgb(testdata: Path, name: str) -> None:
    pixels = decode_image(testdata / "edge" / name).pixels
    assert pixels.ndim == 3 and pixels.shape[2] == 3


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.jpg", "empty"),
        ("text.jpg", "not recognised"),
        ("broken.png", "not recognised"),
        ("truncated_jpeg.jpg", "corrupt or truncated"),
    ],
)
def test_corrupt_files_give_typed_errors(testdata: Path, name: str, message: str) -> None:
    with pytest.raises(InvalidImageFormat, match=message):
        decode_image(testdata / "edge/corrupt" / name)


def test_corrupt_files_fail_even_when_pillow_is_told_to_load_truncated_images(
    testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing face_recognition does
    for name in ["truncated_jpeg.jpg", "broken.png"]:
        with pytest.raises(InvalidImageFormat):
            decode_image(testdata / "edge/corrupt" / name)


def test_exif_orientation_is_applied(testdata: Path) -> None:
    upright = decode_image(testdata / "edge/exif_orientation/hopper.jpg").pixels.astype(float)
    for variant in sorted((testdata / "edge/exif_orientation").glob("hopper_orientation_*")):
        pixels = decode_image(variant).pixels.astype(float)
        assert pixels.shape == upright.shape
        assert np.abs(pixels - upright).mean() < 12, variant.name  # same picture, lossy re-encodes aside


def test_arrays_and_wrong_types() -> None:
    gray = np.zeros((100, 120), np.uint8)
    assert decode_image(gray).pixels.shape == (100, 120, 3)
    with pytest.raises(InvalidParameter, match="uint8"):
        decode_image(np.zeros((100, 100, 3), np.float32))
    with pytest.raises(InvalidParameter, match="bytes, a path, an array or a PIL image"):
        decode_image(12345)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="no such file"):
        decode_image("/nonexistent/photo.jpg")
