"""Image intake: bytes, a path, an array or a PIL image in, an upright RGB array out, or a typed error.

The format is sniffed from the content (never the file name); the pixel count is read from the
header and checked before any pixel is decoded, so a small file that declares a huge image
(a "decompression bomb") is refused without allocating it.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from faceindex.config import ImageLimits
from faceindex.errors import ImageTooLarge, InvalidImageFormat, InvalidParameter
from faceindex.types import RGBImage

ImageInput = bytes | bytearray | memoryview | str | Path | np.ndarray | Image.Image
CHANNEL_ORDERS = ("RGB", "BGR")

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "PPM"})


@dataclass(frozen=True)
class DecodedImage:
    pixels: RGBImage  # H x W x 3, uint8, orientation applied
    format: str  # JPEG, PNG, ... or "ARRAY"

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def decode_image(image: ImageInput, limits: ImageLimits | None = None) -> DecodedImage:
    """Decode bytes, a file path, an RGB array or a PIL image, enforcing `limits` (Rekognition's by default)."""
    limits = limits or ImageLimits()
    if isinstance(image, np.ndarray):
        return DecodedImage(_check_array(image, limits), "ARRAY")
    if isinstance(image, Image.Image):
        return DecodedImage(_check_array(_pil_pixels(image, limits), limits), image.format or "PIL")
    if isinstance(image, (str, Path)):
        data = _read_file(Path(image), limits.max_file_bytes)
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if len(data) > limits.max_bytes:
            raise ImageTooLarge(f"image is {len(data)} bytes; the limit for image bytes is {limits.max_bytes}")
    else:
        raise InvalidParameter(f"image must be bytes, a path, an array or a PIL image, not {type(image).__name__}")
    return _decode_bytes(data, limits)


def in_rgb_order(image: ImageInput, channels: str) -> ImageInput:
    """`image` with an array's colour channels in RGB order. OpenCV's arrays are BGR (BGRA): read as
    RGB they give other descriptors (0.19-0.30 apart on test faces, where 0.6 is the match distance), so
    the caller says which order it has. Files, bytes and PIL images carry their own colour model."""
    if channels not in CHANNEL_ORDERS:
        raise InvalidParameter(f"channels must be RGB or BGR, not {channels!r}")
    if channels == "RGB":
        return image
    if not isinstance(image, np.ndarray):
        raise InvalidParameter(f"channels='BGR' describes an array; a {type(image).__name__} has its own colour model")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return image[:, :, 2::-1]  # B, G, R (and alpha, dropped) -> R, G, B
    return image  # grey has no order; other shapes are refused by decode_image with their reason


def _pil_pixels(img: Image.Image, limits: ImageLimits) -> RGBImage:
    """A PIL image as the same upright RGB pixels its file would give; the caller's image is not changed."""
    width, height = img.size
    if width * height > limits.max_pixels:
        raise ImageTooLarge(f"image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels")
    try:
        return _to_rgb(ImageOps.exif_transpose(img) or img)
    except Exception as exc:  # a closed image, or a lazily opened file that is corrupt
        raise InvalidImageFormat(f"the PIL image cannot be read ({type(exc).__name__})") from None


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageTooLarge(f"{path.name} is {size} bytes; the limit for image files is {max_bytes}")
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidParameter(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidParameter(f"{path} is a folder, not an image file") from None
    except PermissionError:
        raise InvalidParameter(f"cannot read {path}: permission denied") from None


def _decode_bytes(data: bytes, limits: ImageLimits) -> DecodedImage:
    if not data:
        raise InvalidImageFormat("image is empty (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=sorted(SUPPORTED_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            # Pillow's own guard (~89 M pixels) fires while reading the header
            raise ImageTooLarge(f"image has more than the limit of {limits.max_pixels} pixels") from None
        except Exception:  # Pillow raises many types on hostile input (OSError, SyntaxError, UnicodeError…)
            raise InvalidImageFormat(
                "image format not recognised: expected JPEG, PNG, WebP, GIF, BMP, TIFF or PPM"
            ) from None
        fmt = img.format or "UNKNOWN"
        width, height = img.size
        # checked on the header, before the pixels are decoded
        if width * height > limits.max_pixels:
            raise ImageTooLarge(
                f"image is {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels} pixels"
            )
        if _is_truncated(fmt, data, width, height):
            raise InvalidImageFormat(f"image data is corrupt or truncated ({fmt})")
        try:
            img.seek(0)  # GIF / multi-page TIFF: the first frame
            img.load()
            rgb = _to_rgb(ImageOps.exif_transpose(img) or img)
        except Exception:
            raise InvalidImageFormat(f"image data is corrupt or truncated ({fmt})") from None
    return DecodedImage(_check_array(rgb, limits), "JPEG" if fmt == "MPO" else fmt)


def _is_truncated(fmt: str, data: bytes, width: int, height: int) -> bool:
    """Pillow pads truncated files with grey when any library in the process (face_recognition does)
    sets ImageFile.LOAD_TRUNCATED_IMAGES, and libjpeg fills missing scan data with grey whatever the
    setting, so a few hundred bytes that declare 6000 x 6000 would cost seconds of decoding. The end
    markers and, for JPEG, the amount of scan data are checked here, before any pixel is decoded."""
    if fmt in ("JPEG", "MPO"):
        return b"\xff\xd9" not in data[-65536:] or _jpeg_scan_bytes(data) < _min_jpeg_scan_bytes(data, width, height)
    if fmt == "PNG":
        return data.rfind(b"IEND") == -1
    return False


# Huffman coding spends at least one bit on every 8 x 8 block of the first scan (its DC difference);
# arithmetic coding can spend less on a flat image, so its bound is looser.
_ARITHMETIC_SOF = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_BLOCKS_PER_BYTE = {"huffman": 8, "arithmetic": 8 * 64}


def _jpeg_markers(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, payload start, payload length) of each header segment, up to and including SOS."""
    position = 2  # after SOI
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        yield marker, position + 4, length - 2
        if marker == 0xDA:
            return
        position += 2 + length


def _jpeg_scan_bytes(data: bytes) -> int:
    """Bytes from the first scan's data to the end of the file (0 when there is no scan)."""
    for marker, start, length in _jpeg_markers(data):
        if marker == 0xDA:
            return max(0, len(data) - (start + length))
    return 0


def _min_jpeg_scan_bytes(data: bytes, width: int, height: int) -> int:
    coding = "huffman"
    for marker, _, _ in _jpeg_markers(data):
        if marker in _ARITHMETIC_SOF:
            coding = "arithmetic"
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    return blocks // _BLOCKS_PER_BYTE[coding]


_BAND_PIXELS = 1 << 20


def _to_rgb(img: Image.Image) -> RGBImage:
    """Grayscale, palette, CMYK, 16-bit and alpha images become RGB (alpha over white)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        peak = max(float(arr.max()), 1.0)
        img = Image.fromarray((arr * (255.0 / (65535.0 if peak > 255 else 255.0))).clip(0, 255).astype(np.uint8))
    return _pixels(img if img.mode == "RGB" else img.convert("RGB"))


def _pixels(rgb: Image.Image) -> RGBImage:
    """The pixels, copied out a band of rows at a time: Pillow's array export goes through a bytes
    object of the whole image, which would hold the image three times at once (40 MP: 0.7 GB)."""
    width, height = rgb.size
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _BAND_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = np.asarray(rgb.crop((0, top, width, bottom)))
    return out


def _check_array(pixels: np.ndarray, limits: ImageLimits) -> RGBImage:
    if pixels.dtype != np.uint8:
        raise InvalidParameter(f"image arrays must be uint8, not {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise InvalidParameter(f"image arrays must be H x W x 3 (RGB), not shape {pixels.shape}")
    pixels = pixels[:, :, :3]
    height, width = pixels.shape[:2]
    if width * height > limits.max_pixels:
        raise ImageTooLarge(f"image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels")
    if min(width, height) < limits.min_side:
        raise InvalidParameter(f"image is {width}x{height}; each side must be at least {limits.min_side} pixels")
    return np.ascontiguousarray(pixels)
