"""The library's functions (re-exported by `faceindex`): one lazily built engine shared by all calls
unless `engine=` is given, arrays declared RGB or BGR, and the descriptor distance and similarity."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from faceindex.analysis.similarity import DECISION_DISTANCE, similarity
from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from faceindex.imaging.decode import ImageInput, in_rgb_order
from faceindex.pipeline import FaceEngine
from faceindex.service import faces as _faces
from faceindex.types import CompareFacesResult, Descriptor, FaceDetail

MATCH_DISTANCE = DECISION_DISTANCE  # dlib's: descriptors closer than this are the same person

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
    image: ImageInput,
    attributes: Iterable[str] = ("DEFAULT",),
    engine: FaceEngine | None = None,
    *,
    channels: str = "RGB",
) -> list[FaceDetail]:
    """Every face in `image`, largest first, as Rekognition FaceDetail values. `channels="BGR"` for
    OpenCV's arrays."""
    return _faces.detect_faces(_engine(engine), in_rgb_order(image, channels), attributes)


def embed_faces(
    image: ImageInput, engine: FaceEngine | None = None, *, channels: str = "RGB"
) -> list[tuple[FaceDetail, Descriptor]]:
    """Every face in `image` with its 128-D descriptor, largest first; compare them with
    `face_distance` (< MATCH_DISTANCE, 0.6: same person) or `face_similarity`."""
    return _faces.embed_faces(_engine(engine), in_rgb_order(image, channels))


def compare_faces(
    source: ImageInput,
    target: ImageInput,
    similarity_threshold: float = 80.0,
    engine: FaceEngine | None = None,
    quality_filter: str | None = None,
    *,
    channels: str = "RGB",
) -> CompareFacesResult:
    """The largest face of `source` against every face of `target` (Rekognition's CompareFaces);
    `quality_filter` NONE (default), AUTO, LOW, MEDIUM or HIGH leaves out faces below that bar."""
    return _faces.compare_faces(
        _engine(engine),
        in_rgb_order(source, channels),
        in_rgb_order(target, channels),
        similarity_threshold,
        quality_filter,
    )


def face_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Euclidean distance between two descriptors from `embed_faces`: below MATCH_DISTANCE (0.6) they
    are taken to be the same person (dlib's and face_recognition's rule)."""
    first, second = _descriptor(a, "a"), _descriptor(b, "b")
    if first.shape != second.shape:
        raise InvalidParameter(f"descriptors of different lengths: {first.shape[0]} and {second.shape[0]}")
    return float(np.linalg.norm(first - second))


def face_similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """CompareFaces' Similarity (0-100) of two descriptors: 80 at MATCH_DISTANCE, Rekognition's default
    threshold, and decreasing with the distance."""
    return round(float(similarity(face_distance(a, b))), 5)


def _descriptor(value: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameter(f"descriptor {name} is not an array of numbers") from None
    if array.ndim != 1 or array.size == 0:
        raise InvalidParameter(
            f"descriptor {name} must be one vector (as embed_faces returns), not shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise InvalidParameter(f"descriptor {name} holds NaN or infinity")
    return array
