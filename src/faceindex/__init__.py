"""faceindex: self-hosted face detection, analysis and comparison with Rekognition's semantics.

    >>> import faceindex
    >>> faces = faceindex.detect_faces("group.jpg", attributes=["ALL"])
    >>> result = faceindex.compare_faces("me.jpg", "group.jpg", similarity_threshold=80.0)

`image` is always bytes, a file path or an RGB uint8 array. The functions share one lazily built
`FaceEngine` (models load on first use); pass `engine=` to use your own settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from faceindex.config import ImageLimits, Settings
from faceindex.errors import (
    FaceIndexError,
    ImageTooLarge,
    InvalidImageFormat,
    InvalidParameter,
    ModelError,
    NoFaceInSource,
)
from faceindex.imaging.decode import ImageInput
from faceindex.pipeline import FaceEngine
from faceindex.service import faces as _faces
from faceindex.types import (
    BoundingBox,
    CompareFacesMatch,
    CompareFacesResult,
    Descriptor,
    FaceDetail,
    Landmark,
    Pose,
)

__version__ = "0.1.0"

__all__ = [
    "BoundingBox",
    "CompareFacesMatch",
    "CompareFacesResult",
    "Descriptor",
    "FaceDetail",
    "FaceEngine",
    "FaceIndexError",
    "ImageLimits",
    "ImageTooLarge",
    "InvalidImageFormat",
    "InvalidParameter",
    "Landmark",
    "ModelError",
    "NoFaceInSource",
    "Pose",
    "Settings",
    "compare_faces",
    "detect_faces",
    "embed_faces",
]

_default: FaceEngine | None = None
_default_lock = threading.Lock()


def _engine(engine: FaceEngine | None) -> FaceEngine:
    global _default
    if engine is not None:
        return engine
    with _default_lock:
        if _default is None:
            _default = FaceEngine(Settings.from_env())
        return _default


def detect_faces(
    image: ImageInput, attributes: Iterable[str] = ("DEFAULT",), engine: FaceEngine | None = None
) -> list[FaceDetail]:
    """Every face in `image`, largest first, as Rekognition FaceDetail values."""
    return _faces.detect_faces(_engine(engine), image, attributes)


def embed_faces(image: ImageInput, engine: FaceEngine | None = None) -> list[tuple[FaceDetail, Descriptor]]:
    """Every face in `image` with its 128-D descriptor (Euclidean distance < 0.6: same person)."""
    return _faces.embed_faces(_engine(engine), image)


def compare_faces(
    source: ImageInput,
    target: ImageInput,
    similarity_threshold: float = 80.0,
    engine: FaceEngine | None = None,
    quality_filter: str | None = None,
) -> CompareFacesResult:
    """The largest face of `source` against every face of `target` (Rekognition's CompareFaces);
    `quality_filter` NONE (default), AUTO, LOW, MEDIUM or HIGH leaves out faces below that bar."""
    return _faces.compare_faces(_engine(engine), source, target, similarity_threshold, quality_filter)
