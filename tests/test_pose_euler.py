"""bench/pose.py compares a rotation with each set's labels in that set's Euler order (issue 11.3):
Rekognition's angles (analysis/pose.py, R = Rz Ry Rx) re-expressed in AFLW2000's Pose_Para order
(R = Rx Ry Rz) must give back Pose_Para's own angles."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from faceindex.analysis import pose

BENCH = Path(__file__).resolve().parents[1] / "bench" / "pose.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pose", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_pose"] = module
    spec.loader.exec_module(module)
    return module


def pose_para_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """3DDFA's RotationMatrix.m (radians), x right, y up, z towards the camera: each factor the inverse
    of the usual right-handed rotation, multiplied Rx Ry Rz."""
    cx, sx, cy, sy, cz, sz = (f(a) for a in (pitch, yaw, roll) for f in (math.cos, math.sin))
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return np.asarray(rx @ ry @ rz)


@pytest.mark.parametrize(("pitch", "yaw", "roll"), [(20, 60, -10), (-35, -45, 25), (5, 80, 0), (0, 0, 30)])
def test_rekognition_angles_in_pose_para_order_are_pose_paras(
    bench: ModuleType, pitch: float, yaw: float, roll: float
) -> None:
    rotation = pose_para_rotation(*(math.radians(a) for a in (pitch, yaw, roll)))
    ours = pose._angles(rotation)
    angles = (ours.Yaw, ours.Pitch, ours.Roll)
    # the manifest's labels: Yaw = -yaw, Pitch = pitch, Roll = roll (scripts/devsets/headpose.py)
    assert bench.in_order(angles, "xyz") == pytest.approx((-yaw, pitch, roll), abs=1e-6)
    assert np.allclose(bench.rotation_of_angles(angles), rotation)
    if yaw and (pitch or roll):  # the orders differ once two angles are non-zero: comparing as-is would be wrong
        assert max(abs(a - b) for a, b in zip(angles, (-yaw, pitch, roll), strict=True)) > 1.0
    assert bench.in_order(angles, "zyx") == angles
