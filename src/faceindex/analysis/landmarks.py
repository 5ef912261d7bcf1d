"""Rekognition's landmark vocabulary from dlib's 5- or 68-point shapes.

"Left" and "right" are as seen in the image (Rekognition's eyeLeft has the smaller X). Pupils
are eye centres. The 5-point model defines 9 of Rekognition's 30 types; the opt-in 68-point
model defines all 30.
"""

from __future__ import annotations

import numpy as np

from faceindex.models.landmarks import Points
from faceindex.types import Landmark

# 68-point iBUG indices (0-based). A tuple means the mean of those points.
_FROM_68: dict[str, tuple[int, ...]] = {
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
}

# dlib's 5-point model: 0/1 outer/inner corner of the image-right eye, 2/3 of the image-left eye,
# 4 the base of the nose.
_FROM_5: dict[str, tuple[int, ...]] = {
    "eyeLeft": (2, 3),
    "eyeRight": (0, 1),
    "leftPupil": (2, 3),
    "rightPupil": (0, 1),
    "leftEyeLeft": (2,),
    "leftEyeRight": (3,),
    "rightEyeLeft": (1,),
    "rightEyeRight": (0,),
    "nose": (4,),
}

REKOGNITION_LANDMARK_TYPES = tuple(_FROM_68)


def to_rekognition(points: Points, width: int, height: int) -> tuple[Landmark, ...]:
    table = _FROM_68 if len(points) == 68 else _FROM_5
    out = []
    for name, indices in table.items():
        x, y = np.mean(points[list(indices)], axis=0)
        out.append(Landmark(Type=name, X=float(x) / width, Y=float(y) / height))
    return tuple(out)
