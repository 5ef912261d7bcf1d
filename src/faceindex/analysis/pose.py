"""Head pose (Roll, Yaw, Pitch in degrees) by solvePnP of 2-D landmarks on a 3-D mean face."""

from __future__ import annotations

import math

import cv2
import numpy as np

from faceindex.analysis.landmarks import scheme_for
from faceindex.types import Points, Pose


def estimate_pose(points: Points, width: int, height: int) -> Pose:
    model = scheme_for(points).pose
    # to camera coordinates: y down like the image, z away from the camera
    object_points = np.array(list(model.values()), dtype=np.float64) * np.array([1.0, -1.0, -1.0])
    image_points = points[list(model)].astype(np.float64)
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    # EPnP has no initial-guess problem (the iterative solver can land on the mirrored pose)
    try:
        ok, rvec, tvec = cv2.solvePnP(object_points, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_EPNP)
    except cv2.error:
        ok = False
    if not ok:
        return Pose(Roll=0.0, Yaw=0.0, Pitch=0.0)
    rotation, _ = cv2.Rodrigues(rvec)
    # Pose is relative to the line of sight: a face off the image centre that looks straight at the
    # camera is turned towards it in camera axes, and should read 0. Undo the turn of that ray.
    rotation = _towards(tvec.ravel()).T @ rotation
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -rotation[2, 0]))))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return Pose(Roll=_wrap(roll), Yaw=_wrap(yaw), Pitch=_wrap(pitch))


def _towards(ray: np.ndarray) -> np.ndarray:
    """The rotation that takes the optical axis (0, 0, 1) onto `ray`."""
    direction = ray / max(float(np.linalg.norm(ray)), 1e-9)
    axis = np.cross([0.0, 0.0, 1.0], direction)
    angle = math.asin(min(1.0, float(np.linalg.norm(axis))))
    if angle < 1e-9:
        return np.eye(3)
    rotation, _ = cv2.Rodrigues(axis / np.linalg.norm(axis) * angle)
    return np.asarray(rotation)


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0
