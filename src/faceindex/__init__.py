"""faceindex: self-hosted face detection, analysis and comparison with Rekognition's semantics.

    >>> import faceindex
    >>> faces = faceindex.detect_faces("group.jpg", attributes=["ALL"])
    >>> result = faceindex.compare_faces("me.jpg", "group.jpg", similarity_threshold=80.0)
    >>> (_, me), (_, you) = faceindex.embed_faces("me.jpg")[0], faceindex.embed_faces("you.jpg")[0]
    >>> faceindex.face_distance(me, you) < faceindex.MATCH_DISTANCE  # or face_similarity(me, you) >= 80

`image` is bytes, a file path, a PIL image or a uint8 array (RGB; `channels="BGR"` for OpenCV's).
The functions share one lazily built `FaceEngine` (models load on first use); pass `engine=` to use
your own settings. Only the names in `__all__` are the public API (a test pins them).
"""

from faceindex.config import ImageLimits, Settings
from faceindex.errors import (
    FaceIndexError,
    ImageTooLarge,
    InvalidImageFormat,
    InvalidParameter,
    ModelError,
    NoFaceInSource,
)
from faceindex.library import (
    MATCH_DISTANCE,
    compare_faces,
    detect_faces,
    embed_faces,
    face_distance,
    face_similarity,
)
from faceindex.pipeline import FaceEngine
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
    "MATCH_DISTANCE",
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
    "face_distance",
    "face_similarity",
]
