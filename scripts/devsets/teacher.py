"""dlib's detectors as a teacher for face boxes where no public ground truth exists (issue 11.1 allows it).

The detectors run through faceindex's engine (`FaceEngine.with_detector`): the CNN (mmod) is dlib's
MMOD face detector on onnxruntime, HOG is dlib's own. Results are cached by the pixels' SHA-256, so a
rebuild of a dev set reruns only what changed; `Teacher(cache=None)` always runs the detectors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from boxes import Box, iou, merge

Pixels = npt.NDArray[np.uint8]  # H x W x 3, RGB
MERGE_IOU = 0.3  # a HOG box overlapping a CNN box this much is the same face
# onnxruntime keeps the buffers of every input shape it has seen: over a few hundred photos of different
# sizes the process grew past 8 GB. A fresh session every so often gives that memory back.
RECYCLE_EVERY = 40
CROWD_BUDGET = 33e6  # pixels after upsampling: 2 MP and 1024 x 768 get upsample 2, 720 x 480 upsample 3


@dataclass(frozen=True)
class Found:
    box: Box
    score: float


class Teacher:
    def __init__(self, threads: int, cache: Path | None) -> None:
        from faceindex.config import Settings  # the engine is needed only when a dev set uses the teacher
        from faceindex.pipeline import FaceEngine

        # landmarks "5": detect() then runs dlib's 5-point shape only, not FaceMesh on every face
        self._engine = FaceEngine(Settings(landmarks="5", threads=threads))
        self._detectors: dict[tuple[str, int], Any] = {}
        self._cache_path = cache
        self._cache: dict[str, list[list[float]]] = {}
        if cache is not None and cache.is_file():
            self._cache = json.loads(cache.read_text(encoding="utf-8"))
        self.runs = 0

    def find(self, pixels: Pixels, detector: str, upsample: int) -> list[Found]:
        digest = hashlib.sha256(repr(pixels.shape).encode() + pixels.tobytes()).hexdigest()[:24]
        key = f"{digest}:{detector}:{upsample}"
        if key not in self._cache:
            if self.runs and self.runs % RECYCLE_EVERY == 0:
                self._detectors.clear()  # see RECYCLE_EVERY
            engine = self._detectors.get((detector, upsample))
            if engine is None:
                engine = self._engine.with_detector(detector, upsample=upsample)
                self._detectors[(detector, upsample)] = engine
            found = engine.detect(np.ascontiguousarray(pixels))
            self._cache[key] = [[d.box.left, d.box.top, d.box.right, d.box.bottom, d.score] for d in found]
            self.runs += 1
            if self.runs % 25 == 0:
                self.save()
        return [Found(Box(*row[:4]), row[4]) for row in self._cache[key]]

    def save(self) -> None:
        if self._cache_path is not None:
            self._cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._cache_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._cache, sort_keys=True), encoding="utf-8")
            tmp.replace(self._cache_path)

    def clear_face(self, pixels: Pixels, min_height: float) -> Box | None:
        """The CNN's box when the photo shows one clear face: the CNN (upsample 1) finds exactly one,
        HOG (upsample 2) finds exactly one and it is the same face, and the face is min_height px or more."""
        cnn = self.find(pixels, "mmod", 1)
        if len(cnn) != 1 or cnn[0].box.height < min_height:
            return None
        hog = self.find(pixels, "hog", 2)
        if len(hog) != 1 or iou(cnn[0].box, hog[0].box) <= MERGE_IOU:
            return None
        return cnn[0].box

    def any_face(self, pixels: Pixels) -> bool:
        """A quick screen for photos meant to be face-free: the CNN or HOG, upsample 1, finds something."""
        return bool(self.find(pixels, "mmod", 1) or self.find(pixels, "hog", 1))

    def all_faces(self, pixels: Pixels) -> tuple[list[tuple[Box, str]], str]:
        """Every face the CNN or HOG finds (merged by IoU > 0.3, the CNN's box kept) and the rule's name.

        Upsampling is as high as CROWD_BUDGET allows (1 to 3), so faces down to ~10-20 px are found in
        group photos; HOG runs with at least upsample 2.
        """
        height, width = pixels.shape[:2]
        up = next((u for u in (3, 2) if width * height * 4**u <= CROWD_BUDGET), 1)
        hog_up = max(up, 2)
        cnn = [f.box for f in self.find(pixels, "mmod", up)]
        hog = [f.box for f in self.find(pixels, "hog", hog_up)]
        return merge(cnn, hog, MERGE_IOU), f"teacher:mmod-up{up}+hog-up{hog_up}"
