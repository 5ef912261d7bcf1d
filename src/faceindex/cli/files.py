"""The image files named on a command line: files as given, folders walked for images."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ppm"}


def image_files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """(file, name): a file given is named by its file name; a file found in a folder given, by its path
    inside that folder. Folders recurse and keep only image suffixes."""
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
                yield file, file.relative_to(path).as_posix()
        else:
            yield path, path.name


def external_id_for(name: str) -> str:
    """An ExternalImageId for a file's name: '/' written ':', characters Rekognition refuses become '_'."""
    return re.sub(r"[^a-zA-Z0-9_.\-:]", "_", name.replace("/", ":"))[-255:] or "image"
