"""LiteRT (TensorFlow Lite) interpreters for MediaPipe's models, shipped in `faceindex/models/data/`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from faceindex.errors import ModelError

MODEL_DIRECTORY = Path(__file__).resolve().parent / "data"

# MediaPipe's files as released (Apache-2.0; data/README.md says where each comes from): a file
# that differs is refused, so a damaged install fails with a clear error instead of wrong faces.
MEDIAPIPE_SHA256 = {
    "face_detection_full_range.tflite": "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    "face_landmark.tflite": "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
}


def mediapipe_model(file_name: str, directory: Path = MODEL_DIRECTORY) -> Path:
    """Path of one of MediaPipe's .tflite files shipped with faceindex, after checking its SHA-256."""
    expected = MEDIAPIPE_SHA256.get(file_name)
    if expected is None:
        raise ModelError(f"{file_name} is not one of the MediaPipe models faceindex ships")
    path = directory / file_name
    try:
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{file_name} is missing from {directory}: reinstall faceindex ({exc.strerror})") from None
    if actual != expected:
        raise ModelError(
            f"{path} has SHA-256 {actual[:16]}…, not MediaPipe's {expected[:16]}…: the install is damaged, "
            "reinstall faceindex"
        )
    return path


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """LiteRT's C++ core prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on file
    descriptor 2 when an interpreter is built, with no setting to silence it (TF_CPP_MIN_LOG_LEVEL
    does not reach it); it would break the server's one-JSON-object-a-line log. So descriptor 2
    points at /dev/null while an interpreter is built: once per model, before the server is ready."""
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class TfliteModel:
    """One interpreter, built lazily; calls are serialised because interpreters are not thread-safe."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        self.path = path
        self._threads = threads
        self._lock = threading.Lock()
        self._interpreter: Any = None
        self._batch = 0

    def run(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Run on an N x H x W x C batch; returns every output, each with the batch dimension."""
        with self._lock:
            interpreter = self._get()
            input_index = interpreter.get_input_details()[0]["index"]
            if self._batch != len(batch):
                interpreter.resize_tensor_input(input_index, list(batch.shape))
                interpreter.allocate_tensors()
                self._batch = len(batch)
            interpreter.set_tensor(input_index, np.ascontiguousarray(batch, dtype=np.float32))
            interpreter.invoke()
            return [np.array(interpreter.get_tensor(o["index"])) for o in interpreter.get_output_details()]

    def _get(self) -> Any:
        if self._interpreter is None:
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:
                raise ModelError("MediaPipe's models need the package ai-edge-litert") from exc
            threads = self._threads or 2
            with _native_stderr_silenced():
                self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
                self._interpreter.allocate_tensors()
            self._batch = 1
        return self._interpreter
