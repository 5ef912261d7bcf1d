"""Head pose (Roll, Yaw, Pitch in degrees).

With FaceMesh (the default) the pose is the rotation that best maps MediaPipe's canonical face onto the
mesh's 468 3-D points (least squares with scale, Kabsch/Umeyama): every point votes, so one misplaced
landmark moves the angles little. With dlib's 5 or 68 points it is solvePnP of a few of them on a 3-D
mean face.

Angles are those of rotation = Rz(roll) @ Ry(yaw) @ Rx(pitch) taking a frontal face to the observed one,
in axes x to the image right, y up, z towards the camera, times SIGNS (which give Rekognition's signs).
A mirrored photo negates Yaw and Roll and keeps Pitch.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from faceindex.analysis.landmarks import scheme_for
from faceindex.types import Points, Pose

# Roll, Yaw, Pitch: Rekognition's signs (docs/pose.md). Looking at the photo: Yaw > 0 the face turns towards
# the image's right (the subject's own left), Pitch > 0 it looks up, Roll > 0 it leans clockwise.
SIGNS = (-1.0, 1.0, -1.0)


def pose_from_mesh(points3d: npt.NDArray[np.float64], canonical: npt.NDArray[np.float64]) -> Pose:
    """Rotation of `canonical` (x right, y up, z to the camera) onto FaceMesh's points (image pixels,
    y down, z away from the camera), as Roll, Yaw, Pitch."""
    # the rigid part of the face: the outline (|x| >= 6 cm) follows the cheeks and the hair line, the
    # jaw (y <= -6 cm) opens with the mouth; leaving them out lowered pitch error on AFLW2000 (7.0 -> 6.4 degrees)
    rigid = (np.abs(canonical[:, 0]) < 6.0) & (canonical[:, 1] > -6.0)
    observed, canonical = points3d[rigid] * [1.0, -1.0, -1.0], canonical[rigid]
    a = canonical - canonical.mean(axis=0)
    b = observed - observed.mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    reflection = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1.0, 1.0, reflection]) @ u.T  # b ≈ s * rotation @ a
    return _angles(rotation)


def _angles(rotation: npt.NDArray[np.float64]) -> Pose:
    """Roll, Yaw, Pitch of rotation = Rz(roll) @ Ry(yaw) @ Rx(pitch) in x-right, y-up, z-to-camera axes."""
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -rotation[2, 0]))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return Pose(Roll=SIGNS[0] * _wrap(roll), Yaw=SIGNS[1] * _wrap(yaw), Pitch=SIGNS[2] * _wrap(pitch))


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
    flip = np.diag([1.0, -1.0, -1.0])  # camera axes (y down, z away) -> the y-up, z-to-camera axes of _angles
    return _angles(flip @ rotation @ flip)


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
