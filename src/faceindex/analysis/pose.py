"""Head pose (Roll, Yaw, Pitch in degrees) by solvePnP of 2-D landmarks on a 3-D mean face."""

from __future__ import annotations

import math

import cv2
import numpy as np

from faceindex.analysis.landmarks import Points, scheme_for
from faceindex.types import Pose


def estimate_pose(points: Points, width: int, height: int) -> Pose:
    model = scheme_for(points).pose
    # to camera coordinates: y down like the image, z away from the camera
    object_points = np.array(list(model.values()), dtype=np.float64) * np.array([1.0, -1.0, -1.0])
    image_points = points[list(model)].astype(np.float64)
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    # EPnP has no initial-guess problem (the iterative solver can land on the mirrored pose)
    try:
        ok, rvec, _ = cv2.solvePnP(object_points, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_EPNP)
    except cv2.error:
        ok = False
    if not ok:
        return Pose(Roll=0.0, Yaw=0.0, Pitch=0.0)
    rotation, _ = cv2.Rodrigues(rvec)  # identity for a face looking straight at the camera
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -rotation[2, 0]))))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return Pose(Roll=_wrap(roll), Yaw=_wrap(yaw), Pitch=_wrap(pitch))


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0
