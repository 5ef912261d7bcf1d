"""The ONNX conversion against dlib itself (dlib-bin and face_recognition are dev dependencies)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dlib
import face_recognition
import numpy as np
import pytest

from faceindex.errors import ModelFormatError
from faceindex.models import convert, pack
from faceindex.models.landmarks import face_chips
from faceindex.pipeline import FaceEngine
from tests.conftest import face_photos


def test_descriptors_equal_dlibs_on_every_test_face(engine: FaceEngine, testdata: Path) -> None:
    """Given the same face landmarks, our 128-D descriptors equal face_recognition's to 1e-5."""
    compared = 0
    for _, path in face_photos(testdata):
        pixels = engine.decode(path).pixels
        boxes = [d.box for d in engine.detect(pixels)]
        assert boxes, f"no face found in {path}"
        shapes = engine.aligner.shapes(pixels, boxes)
        ours = engine.embedder.embed(face_chips(pixels, shapes))
        locations = [(s.rect.top(), s.rect.right(), s.rect.bottom(), s.rect.left()) for s in shapes]
        theirs = np.array(face_recognition.face_encodings(pixels, locations, num_jitters=1, model="small"))
        assert theirs.shape == ours.shape
        assert np.abs(theirs - ours).max() <= 1e-5, path
        compared += len(shapes)
    assert compared >= 16


def test_detector_boxes_equal_dlibs_cnn_detector(engine: FaceEngine, testdata: Path) -> None:
    """The MMOD net on onnxruntime with our pyramid gives dlib's boxes (upsample 0, to keep CI fast)."""
    from faceindex.models.detector import MmodDetector

    detector = FaceEngine(replace(engine.settings, detector="mmod")).detector
    assert isinstance(detector, MmodDetector)
    at_zero = MmodDetector(detector.model, detector.meta, upsample=0)
    reference = dlib.cnn_face_detection_model_v1(str(pack.source_files()["mmod"]))
    for name in ["faces/kit_harington/1.jpeg", "multi/kit_with_rose.jpg"]:
        pixels = engine.decode(testdata / name).pixels
        ours = [(d.box.left, d.box.top, d.box.right - 1, d.box.bottom - 1) for d in at_zero.detect(pixels)]
        theirs = [(r.rect.left(), r.rect.top(), r.rect.right(), r.rect.bottom()) for r in reference(pixels, 0)]
        assert ours == theirs, name


def test_a_model_file_of_another_shape_is_refused() -> None:
    data = pack.source_files()["mmod"].read_bytes()
    with pytest.raises(ModelFormatError):
        convert.resnet_to_onnx(data)
    with pytest.raises(ModelFormatError, match="end of model file"):
        convert.mmod_to_onnx(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="trailing bytes"):
        convert.mmod_to_onnx(data + b"\x01\x00")


def test_pack_cache_is_checked_and_rebuilt(tmp_path: Path) -> None:
    first = pack.prepare(tmp_path)
    onnx_file = first.onnx_path("mmod")
    assert first.manifest["pack"] == "dlib-v1"
    assert pack.sha256(onnx_file) == first.manifest["onnx"]["mmod"]["sha256"]
    onnx_file.write_bytes(b"corrupted")
    again = pack.prepare(tmp_path)
    assert pack.sha256(again.onnx_path("mmod")) == first.manifest["onnx"]["mmod"]["sha256"]
