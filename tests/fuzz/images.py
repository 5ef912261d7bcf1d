"""Hostile images for the fuzz suite: every case is a pure function of (seed, index).

A case starts from a real photo or a generated image (Pillow: JPEG baseline / progressive / CMYK,
PNG and APNG, multi-frame GIF, multi-page TIFF, WebP, BMP, PPM) and stacks one to three of the
mutations in `mutations.py`. Some cases are not images at all, and every `EXTREME_EVERY`-th case
is an extreme shape within (or just past) the 40 MP limit. Arrays are the library's third input.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.fuzz.mutations import MUTATIONS

SOURCE_PHOTOS = (
    "faces/rose_leslie/1.jpg",
    "faces/obama/5.jpg",
    "faces/kit_harington/2.jpeg",
    "multi/kit_with_rose.jpg",
    "edge/exif_orientation/hopper_orientation_6.jpg",
    "edge/exif_orientation/hopper_orientation_3.webp",
    "edge/cmyk/pil_sample_cmyk.jpg",
    "edge/grayscale/hopper_gray.jpg",
    "edge/formats/hopper.png",
    "edge/formats/hopper.gif",
    "edge/formats/hopper.tif",
    "edge/formats/hopper.bmp",
    "edge/formats/hopper.ppm",
)

EXTREME_EVERY = 40  # extreme shapes cost seconds each (40 MP): one case in 40


@dataclass(frozen=True)
class Case:
    name: str  # names the seed, the index and what was done, for the assertion message
    data: bytes


Source = tuple[str, bytes]


def case_rng(seed: int, index: int, stream: str) -> random.Random:
    """One generator per case, so case `index` is the same whatever other cases are run."""
    return random.Random(f"faceindex-fuzz/{stream}/{seed}/{index}")


def source_photos(testdata: Path) -> list[Source]:
    return [(name, (testdata / name).read_bytes()) for name in SOURCE_PHOTOS]


def image_case(seed: int, index: int, sources: Sequence[Source], stream: str = "image") -> Case:
    rng = case_rng(seed, index, stream)
    prefix = f"{stream} seed={seed} index={index}:"
    if index % EXTREME_EVERY == EXTREME_EVERY - 1:
        label, data = rng.choice(EXTREME_SHAPES)(rng)
        return Case(f"{prefix} extreme shape {label}", data)
    roll = rng.random()
    if roll < 0.12:
        label, data = rng.choice(NON_IMAGES)(rng)
        return Case(f"{prefix} not an image: {label}", data)
    if rng.random() < 0.5:
        label, data = rng.choice(sources)
    else:
        label, data = generated_image(rng, sources)
    if roll < 0.22:
        return Case(f"{prefix} {label}, unmutated", data)
    steps = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        step, data = rng.choice(MUTATIONS)(rng, data)
        steps.append(step)
    return Case(f"{prefix} {label} -> {' -> '.join(steps)}", data)


# --- generated images -------------------------------------------------------------------------


def generated_image(rng: random.Random, sources: Sequence[Source]) -> Source:
    """A real photo re-encoded (resized, another format and mode), or coarse noise."""
    if rng.random() < 0.6:
        name, data = rng.choice(sources)
        with Image.open(io.BytesIO(data)) as opened:
            img = opened.convert("RGB")
        longest = rng.randint(96, 480)
        scale = longest / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
        origin = f"{name} at {img.width}x{img.height}"
    else:
        width, height = rng.randint(80, 320), rng.randint(80, 320)
        noise = np.random.default_rng(rng.getrandbits(64)).integers(0, 4, (height // 8 + 1, width // 8 + 1, 3))
        pixels = np.kron(noise * 64, np.ones((8, 8, 1), np.int64))[:height, :width].astype(np.uint8)
        img = Image.fromarray(pixels)
        origin = f"noise {width}x{height}"
    encoding, encoded = rng.choice(ENCODERS)(rng, img)
    return f"{origin} as {encoding}", encoded


def _save(img: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def _exif(rng: random.Random) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = rng.randint(1, 8)  # Orientation
    return exif.tobytes()


def _jpeg(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    mode = rng.choice(("RGB", "RGB", "L", "CMYK"))
    progressive = rng.random() < 0.4
    options: dict[str, object] = {"quality": rng.randint(5, 95), "progressive": progressive}
    if mode == "RGB":
        options["subsampling"] = rng.choice((0, 1, 2))
    if rng.random() < 0.4:
        options["exif"] = _exif(rng)
    label = f"JPEG {mode}{' progressive' if progressive else ''}{' +EXIF' if 'exif' in options else ''}"
    return label, _save(img.convert(mode), "JPEG", **options)


def _png(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    mode = rng.choice(("RGB", "RGBA", "L", "LA", "P", "1", "I;16"))
    grey16 = Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257)
    converted = grey16 if mode == "I;16" else img.convert(mode)
    if rng.random() < 0.3:  # APNG: more frames after the first
        frames = [converted.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for _ in range(rng.randint(1, 2))]
        return f"APNG {mode}", _save(converted, "PNG", save_all=True, append_images=frames, duration=50)
    return f"PNG {mode}", _save(converted, "PNG", optimize=rng.random() < 0.3)


def _gif(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    first = img.convert("P", palette=Image.Palette.ADAPTIVE, colors=rng.choice((2, 16, 256)))
    frames = [first.rotate(90 * (i + 1)) for i in range(rng.randint(1, 3))]
    options: dict[str, object] = {"save_all": True, "append_images": frames, "loop": 0, "duration": 40}
    if rng.random() < 0.5:
        options["transparency"] = 0
        options["disposal"] = rng.randint(0, 3)
    return f"GIF {1 + len(frames)} frames", _save(first, "GIF", **options)


def _tiff(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    mode = rng.choice(("RGB", "L", "RGBA", "CMYK"))
    compression = rng.choice((None, "tiff_lzw", "tiff_deflate", "packbits", "jpeg"))
    if compression == "jpeg" and mode not in ("RGB", "L"):
        compression = None
    page = img.convert(mode)
    pages = [page.transpose(Image.Transpose.FLIP_TOP_BOTTOM) for _ in range(rng.randint(0, 2))]
    data = _save(page, "TIFF", save_all=True, append_images=pages, compression=compression)
    return f"TIFF {mode} {compression or 'raw'} {1 + len(pages)} pages", data


def _webp(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    lossless = rng.random() < 0.4
    mode = rng.choice(("RGB", "RGBA"))
    options: dict[str, object] = {"lossless": lossless, "quality": rng.randint(10, 90)}
    if rng.random() < 0.3:
        options.update(save_all=True, append_images=[img.convert(mode).rotate(180)], duration=50)
    if rng.random() < 0.3:
        options["exif"] = _exif(rng)
    animated = " animated" if "save_all" in options else ""
    return f"WebP {mode} {'lossless' if lossless else 'lossy'}{animated}", _save(img.convert(mode), "WEBP", **options)


def _bmp(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    mode = rng.choice(("RGB", "L", "P", "1"))
    return f"BMP {mode}", _save(img.convert(mode), "BMP")


def _ppm(rng: random.Random, img: Image.Image) -> tuple[str, bytes]:
    mode = rng.choice(("RGB", "L", "1"))
    return f"PPM {mode}", _save(img.convert(mode), "PPM")


ENCODERS: tuple[Callable[[random.Random, Image.Image], tuple[str, bytes]], ...] = (
    _jpeg, _jpeg, _png, _gif, _tiff, _webp, _bmp, _ppm,
)  # fmt: skip


# --- not images -------------------------------------------------------------------------------


def _zip(rng: random.Random) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("face.jpg", date_time=(2020, 1, 1, 0, 0, 0)), rng.randbytes(512))
    return out.getvalue()


def _tga(rng: random.Random) -> bytes:  # a format Pillow reads and faceindex does not accept
    return _save(Image.new("RGB", (100, 100), (rng.randrange(256), 0, 0)), "TGA")


NON_IMAGES: tuple[Callable[[random.Random], tuple[str, bytes]], ...] = (
    lambda rng: ("empty", b""),
    lambda rng: ("one byte", bytes([rng.randrange(256)])),
    lambda rng: ("text", b"This is not an image, it is a sentence.\n" * rng.randint(1, 50)),
    lambda rng: ("UTF-8 text with a BOM", "\ufeffvisage \u00e9\u00e8 \U0001f600".encode()),
    lambda rng: ("random bytes", rng.randbytes(rng.randint(1, 65536))),
    lambda rng: ("zip archive", _zip(rng)),
    lambda rng: ("gzip", gzip.compress(rng.randbytes(1024), mtime=0)),
    lambda rng: ("PDF header", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
    lambda rng: ("HTML", b"<!DOCTYPE html><html><body><img src=x></body></html>"),
    lambda rng: ("SVG", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9e9" height="9e9"/>'),
    lambda rng: ("JSON", b'{"Image": {"Bytes": "AAAA"}}'),
    lambda rng: ("TGA", _tga(rng)),
    lambda rng: ("HEIC box", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + rng.randbytes(256)),
    lambda rng: ("ELF", b"\x7fELF\x02\x01\x01" + bytes(57)),
    lambda rng: ("magic bytes only", rng.choice(MAGICS)),
    lambda rng: ("magic bytes + noise", rng.choice(MAGICS) + rng.randbytes(rng.randint(1, 2048))),
)

MAGICS = (
    b"\xff\xd8", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"GIF87a", b"BM", b"II*\x00", b"MM\x00*",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"P6\n", b"P5\n80 80\n255\n",
)  # fmt: skip


# --- extreme shapes ---------------------------------------------------------------------------


def _striped(width: int, height: int) -> Image.Image:
    """Grey with a few stripes (something to look at), built without a full-size NumPy copy."""
    img = Image.new("L", (width, height), 110)
    for start in range(0, max(width, height), 997):
        img.paste(200, (0, start, width, start + 7) if height > width else (start, 0, start + 7, height))
    return img


EXTREME_SHAPES: tuple[Callable[[random.Random], tuple[str, bytes]], ...] = (
    lambda rng: ("80x500000 PNG (40 MP)", _save(_striped(80, 500000), "PNG")),
    lambda rng: ("500000x80 PNG (40 MP)", _save(_striped(500000, 80), "PNG")),
    lambda rng: ("6324x6324 JPEG (40 MP)", _save(_striped(6324, 6324), "JPEG", quality=30)),
    lambda rng: ("80x65500 JPEG", _save(_striped(80, 65500), "JPEG", quality=30)),
    lambda rng: ("6325x6325 PNG (past 40 MP)", _save(_striped(6325, 6325), "PNG")),
    lambda rng: ("79x20000 PNG (too thin)", _save(_striped(79, 20000), "PNG")),
)


# --- arrays (the library's third kind of input) -----------------------------------------------


def array_case(seed: int, index: int) -> tuple[str, np.ndarray]:
    rng = case_rng(seed, index, "array")
    pixels = np.random.default_rng(rng.getrandbits(64)).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    kinds: dict[str, Callable[[], np.ndarray]] = {
        "empty 0x0x3": lambda: np.zeros((0, 0, 3), np.uint8),
        "2-D grey": lambda: pixels[:, :, 0],
        "RGBA": lambda: np.dstack([pixels, pixels[:, :, :1]]),
        "two channels": lambda: pixels[:, :, :2],
        "float32": lambda: pixels.astype(np.float32),
        "bool": lambda: pixels > 128,
        "int16 big-endian": lambda: pixels.astype(">i2"),
        "4-D": lambda: pixels[None],
        "1-D": lambda: pixels.ravel(),
        "reversed strides": lambda: pixels[::-1, ::-1],
        "every third column": lambda: pixels[:, ::3],
        "Fortran order": lambda: np.asfortranarray(pixels),
        "read-only": lambda: _read_only(pixels),
        "80 x 100000 (8 MP)": lambda: np.full((100000, 80, 3), 100, np.uint8),
    }
    name = rng.choice(sorted(kinds))
    return f"array seed={seed} index={index}: {name}", kinds[name]()


def _read_only(pixels: np.ndarray) -> np.ndarray:
    frozen = pixels.copy()
    frozen.flags.writeable = False
    return frozen
