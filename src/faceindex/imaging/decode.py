"""Image intake: bytes or a path in, an upright RGB array out, or a typed error.

The format is sniffed from the content (never the file name); the pixel count is read from the
header and checked before any pixel is decoded, so a small file that declares a huge image
(a "decompression bomb") is refused without allocating it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from faceindex.config import ImageLimits
from faceindex.errors import ImageTooLarge, InvalidImageFormat, InvalidParameter
from faceindex.types import RGBImage

ImageInput = bytes | bytearray | memoryview | str | Path | np.ndarray

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
    """Decode bytes, a file path or an RGB array, enforcing `limits` (Rekognition's by default)."""
    limits = limits or ImageLimits()
    if isinstance(image, np.ndarray):
        return DecodedImage(_check_array(image, limits), "ARRAY")
    if isinstance(image, (str, Path)):
        data = _read_file(Path(image), limits.max_file_bytes)
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if len(data) > limits.max_bytes:
            raise ImageTooLarge(f"image is {len(data)} bytes; the limit for image bytes is {limits.max_bytes}")
    else:
        raise InvalidParameter(f"image must be bytes, a path or an array, not {type(image).__name__}")
    return _decode_bytes(data, limits)


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
        if _is_truncated(fmt, data):
            raise InvalidImageFormat(f"image data is corrupt or truncated ({fmt})")
        try:
            img.seek(0)  # GIF / multi-page TIFF: the first frame
            img.load()
            rgb = _to_rgb(ImageOps.exif_transpose(img) or img)
        except Exception:
            raise InvalidImageFormat(f"image data is corrupt or truncated ({fmt})") from None
    return DecodedImage(_check_array(rgb, limits), "JPEG" if fmt == "MPO" else fmt)


def _is_truncated(fmt: str, data: bytes) -> bool:
    """Pillow pads truncated files with grey when any library in the process (face_recognition does)
    sets ImageFile.LOAD_TRUNCATED_IMAGES, so the end markers are checked here, independent of it."""
    if fmt in ("JPEG", "MPO"):
        return b"\xff\xd9" not in data[-65536:]
    if fmt == "PNG":
        return data.rfind(b"IEND") == -1
    return False


def _to_rgb(img: Image.Image) -> RGBImage:
    """Grayscale, palette, CMYK, 16-bit and alpha images become RGB (alpha over white)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = max(float(arr.max()), 1.0)
        img = Image.fromarray((arr * (255.0 / (65535.0 if peak > 255 else 255.0))).clip(0, 255).astype(np.uint8))
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


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
