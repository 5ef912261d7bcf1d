"""onnxruntime sessions: the only module that imports onnxruntime."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import onnxruntime as ort

from faceindex.errors import ModelError


class OnnxModel:
    """An inference session built lazily, once, under a lock (safe to share between threads)."""

    def __init__(self, model_bytes: bytes, threads: int = 0, name: str = "model") -> None:
        self._bytes = model_bytes
        self._threads = threads
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self.name = name

    def _get(self) -> ort.InferenceSession:
        with self._lock:
            if self._session is None:
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                if self._threads:
                    options.intra_op_num_threads = self._threads
                try:
                    self._session = ort.InferenceSession(self._bytes, options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # onnxruntime raises its own untyped errors
                    raise ModelError(f"could not load the {self.name} model: {exc}") from exc
            return self._session

    def run(self, inputs: dict[str, np.ndarray[Any, Any]]) -> list[np.ndarray[Any, Any]]:
        outputs = self._get().run(None, inputs)
        return [np.asarray(o) for o in outputs]
