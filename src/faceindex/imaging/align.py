"""Where a face's descriptor chip is cut: dlib's five alignment points, from dlib's 5-point model or FaceMesh.

dlib's ResNet was trained on chips aligned by a similarity transform that takes five points (the eyes' outer and
inner corners, the base of the nose) to a fixed template. Any landmarker's points in that order align the same
way; FaceMesh's own eye corners and nose (mesh points 263/362/33/133 and 94) measured better than dlib's 5-point
model on the (mapped) detector box: 95.80% against 95.33% on the celeba_people pairs with the mirrored chip
(bench/results/verification.json, issue 12.1). Pure functions on arrays: the chip itself is cut by
`models.landmarks.chips_at`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from faceindex.types import Points

ALIGNMENTS = ("facemesh", "dlib5")
# dlib's 5-point order: 0/1 outer/inner corner of the image-right eye, 2/3 outer/inner corner of the
# image-left eye, 4 the base of the nose. FaceMesh: image-right eye outer 263 / inner 362, image-left eye
# outer 33 / inner 133; 94 is the nose's base between the nostrils (2, the septum's tip, measured lower)
MESH_FIVE = (263, 362, 33, 133, 94)
MESH_POINTS = 468
# FaceMesh's presence below this: the mesh may not sit on a face (a turned head, a proposal only dlib's CNN
# confirmed), and dlib's 5 points, fitted to the detector's box, are the safer alignment
MIN_PRESENCE = 0.5
# dlib's 5-point chip template on the unit square (get_face_chip_details, dlib/image_transforms/interpolation.h)
TEMPLATE5 = np.array(
    [
        (0.8595674595992, 0.2134981538014),
        (0.6460604764104, 0.2289674387677),
        (0.1205750620789, 0.2137274526848),
        (0.3340850613712, 0.2290642403242),
        (0.4901123135679, 0.6277975316475),
    ]
)


def chip_template(size: int, padding: float) -> npt.NDArray[np.float64]:
    """Where the five points land in a size x size chip with `padding` (dlib's get_face_chip_details)."""
    scale = size / (2 * padding + 1)
    return np.asarray((padding + TEMPLATE5) * scale, dtype=np.float64)


def mesh_five(mesh: Points) -> Points:
    """dlib's five alignment points taken from FaceMesh's 468 (image pixels, sub-pixel)."""
    return np.asarray(mesh[list(MESH_FIVE)], dtype=np.float64)


def alignment_points(alignment: str, points: Points, presence: float | None) -> Points | None:
    """The five points to align on with `alignment`, or None for dlib's own 5-point shape (face_recognition's
    chip): under "dlib5", and under "facemesh" when the landmarks are not a mesh or the mesh is not sure."""
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment is one of {', '.join(ALIGNMENTS)}, not {alignment!r}")
    if alignment == "dlib5" or points.shape[0] != MESH_POINTS or (presence or 0.0) < MIN_PRESENCE:
        return None
    five = mesh_five(points)
    return five if np.isfinite(five).all() else None


def mirrored(chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """N chips, then each flipped left to right: the embedder averages a face's two descriptors."""
    return np.concatenate([chips, chips[:, :, ::-1]])


def averaged_halves(descriptors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """2N descriptors of `mirrored` chips -> N: each chip's mean with its mirror's (float32, 128-D kept)."""
    count = len(descriptors) // 2
    return np.asarray((descriptors[:count] + descriptors[count:]) / np.float32(2.0), dtype=np.float32)
