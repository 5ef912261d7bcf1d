"""The 128-D face descriptor (dlib ResNet on onnxruntime): all faces of an image in one call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from faceindex.models.runtime import OnnxModel

DESCRIPTOR_SIZE = 128


@dataclass
class Embedder:
    model: OnnxModel

    def embed(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """N x 150 x 150 x 3 RGB chips -> N x 128 descriptors (not L2-normalised, like dlib's)."""
        if len(chips) == 0:
            return np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        return self.model.run({"image": chips.astype(np.float32)})[0].astype(np.float32)
