"""Rekognition's landmark vocabulary, pose points and eye/mouth points for each landmark model.

"Left" and "right" are as seen in the image (Rekognition's eyeLeft has the smaller X). Pupils are
eye centres. FaceMesh (468 points, the default) and the opt-in 68-point model define all 30 of
Rekognition's types; dlib's 5-point model defines 9 and has no eyelids or lips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceindex.types import Landmark, Points

# A generic adult head in millimetres (x to the image right, y up, z towards the camera).
NOSE_TIP, CHIN = (0.0, 0.0, 0.0), (0.0, -63.6, -12.5)
EYE_OUTER_L, EYE_OUTER_R = (-43.3, 32.7, -26.0), (43.3, 32.7, -26.0)
EYE_INNER_L, EYE_INNER_R = (-12.0, 31.0, -22.0), (12.0, 31.0, -22.0)
MOUTH_L, MOUTH_R = (-28.9, -28.9, -24.1), (28.9, -28.9, -24.1)
NOSE_BASE = (0.0, -15.0, -12.0)


@dataclass(frozen=True)
class Scheme:
    """How one landmark model's points map to what faceindex reports."""

    types: dict[str, tuple[int, ...]]  # Rekognition type -> point indices (mean of them)
    pose: dict[int, tuple[float, float, float]]  # point index -> 3-D mean-face point
    eyes: tuple[tuple[int, ...], tuple[int, ...]] | None = None  # 6 points per eye: p1..p6 of the EAR
    mouth: tuple[int, int, int, int] | None = None  # inner lip top, inner lip bottom, corner, corner


IBUG_68 = Scheme(
    types={
        "eyeLeft": (36, 37, 38, 39, 40, 41),
        "eyeRight": (42, 43, 44, 45, 46, 47),
        "nose": (30,),
        "mouthLeft": (48,),
        "mouthRight": (54,),
        "leftEyeBrowLeft": (17,),
        "leftEyeBrowRight": (21,),
        "leftEyeBrowUp": (19,),
        "rightEyeBrowLeft": (22,),
        "rightEyeBrowRight": (26,),
        "rightEyeBrowUp": (24,),
        "leftEyeLeft": (36,),
        "leftEyeRight": (39,),
        "leftEyeUp": (37, 38),
        "leftEyeDown": (40, 41),
        "rightEyeLeft": (42,),
        "rightEyeRight": (45,),
        "rightEyeUp": (43, 44),
        "rightEyeDown": (46, 47),
        "noseLeft": (31,),
        "noseRight": (35,),
        "mouthUp": (51,),
        "mouthDown": (57,),
        "leftPupil": (36, 37, 38, 39, 40, 41),
        "rightPupil": (42, 43, 44, 45, 46, 47),
        "upperJawlineLeft": (0,),
        "midJawlineLeft": (4,),
        "chinBottom": (8,),
        "midJawlineRight": (12,),
        "upperJawlineRight": (16,),
    },
    pose={
        30: NOSE_TIP,
        8: CHIN,
        36: EYE_OUTER_L,
        45: EYE_OUTER_R,
        48: MOUTH_L,
        54: MOUTH_R,
        39: EYE_INNER_L,
        42: EYE_INNER_R,
    },
    eyes=((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47)),
    mouth=(62, 66, 48, 54),
)

_MESH_EYE_L = (33, 160, 158, 133, 153, 144)  # image-left eye: outer, upper lid x2, inner, lower lid x2
_MESH_EYE_R = (362, 385, 387, 263, 373, 380)
FACEMESH_468 = Scheme(
    types={
        "eyeLeft": _MESH_EYE_L,
        "eyeRight": _MESH_EYE_R,
        "nose": (1,),
        "mouthLeft": (61,),
        "mouthRight": (291,),
        "leftEyeBrowLeft": (70,),
        "leftEyeBrowRight": (107,),
        "leftEyeBrowUp": (105,),
        "rightEyeBrowLeft": (336,),
        "rightEyeBrowRight": (300,),
        "rightEyeBrowUp": (334,),
        "leftEyeLeft": (33,),
        "leftEyeRight": (133,),
        "leftEyeUp": (159,),
        "leftEyeDown": (145,),
        "rightEyeLeft": (362,),
        "rightEyeRight": (263,),
        "rightEyeUp": (386,),
        "rightEyeDown": (374,),
        "noseLeft": (98,),
        "noseRight": (327,),
        "mouthUp": (0,),
        "mouthDown": (17,),
        "leftPupil": _MESH_EYE_L,
        "rightPupil": _MESH_EYE_R,
        "upperJawlineLeft": (234,),
        "midJawlineLeft": (172,),
        "chinBottom": (152,),
        "midJawlineRight": (397,),
        "upperJawlineRight": (454,),
    },
    pose={
        1: NOSE_TIP,
        152: CHIN,
        33: EYE_OUTER_L,
        263: EYE_OUTER_R,
        61: MOUTH_L,
        291: MOUTH_R,
        133: EYE_INNER_L,
        362: EYE_INNER_R,
    },
    eyes=(_MESH_EYE_L, _MESH_EYE_R),
    mouth=(13, 14, 61, 291),
)

# dlib's 5-point model: 0/1 outer/inner corner of the image-right eye, 2/3 of the image-left eye,
# 4 the base of the nose.
DLIB_5 = Scheme(
    types={
        "eyeLeft": (2, 3),
        "eyeRight": (0, 1),
        "leftPupil": (2, 3),
        "rightPupil": (0, 1),
        "leftEyeLeft": (2,),
        "leftEyeRight": (3,),
        "rightEyeLeft": (1,),
        "rightEyeRight": (0,),
        "nose": (4,),
    },
    pose={2: EYE_OUTER_L, 3: EYE_INNER_L, 1: EYE_INNER_R, 0: EYE_OUTER_R, 4: NOSE_BASE},
)

SCHEMES = {5: DLIB_5, 68: IBUG_68, 468: FACEMESH_468}
REKOGNITION_LANDMARK_TYPES = tuple(IBUG_68.types)


def scheme_for(points: Points) -> Scheme:
    return SCHEMES[len(points)]


def to_rekognition(points: Points, width: int, height: int) -> tuple[Landmark, ...]:
    out = []
    for name, indices in scheme_for(points).types.items():
        x, y = np.mean(points[list(indices)], axis=0)
        out.append(Landmark(Type=name, X=float(x) / width, Y=float(y) / height))
    return tuple(out)
