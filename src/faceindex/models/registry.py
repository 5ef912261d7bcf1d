"""Models by name: the one place that knows which detectors, landmarkers and embedders exist.

`FaceEngine` asks the registry for what the settings name and composes the results; adding a model
is one entry here, not a branch in the engine. Builders import their runtime lazily, so naming a
model costs nothing until it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from faceindex.errors import ModelError
from faceindex.models import pack
from faceindex.models.base import Detector, Embedder, FaceLandmarks, Landmarker, Verifier
from faceindex.types import PixelBox, Points, RGBImage


@dataclass(frozen=True)
class ModelContext:
    """What builders may use: thread count and the converted dlib pack (prepared on first use)."""

    threads: int
    model_pack: Callable[[], pack.PreparedPack]


@dataclass(frozen=True)
class DetectorEntry:
    build: Callable[[ModelContext, int], Detector]  # (context, upsample)
    summary: str
    licence: str
    # a detector whose proposals under `sure_score` a verifier (VERIFIERS) must confirm (BlazeFace: look-alikes)
    verifier: str | None = None
    sure_score: float = 1.0


@dataclass(frozen=True)
class LandmarkerEntry:
    build: Callable[[ModelContext], Landmarker]
    summary: str
    licence: str


def _blazeface(context: ModelContext, upsample: int) -> Detector:
    from faceindex.models.blazeface import BlazeFaceDetector
    from faceindex.models.litert import TfliteModel, mediapipe_model

    model = TfliteModel(mediapipe_model("face_detection_full_range.tflite"), context.threads)
    return BlazeFaceDetector(model, upsample=upsample)


def _mmod(context: ModelContext, upsample: int) -> Detector:
    from faceindex.models.detector import MmodDetector
    from faceindex.models.runtime import OnnxModel

    prepared = context.model_pack()
    model = OnnxModel(prepared.onnx_path("mmod").read_bytes(), context.threads, "detector")
    return MmodDetector(model, prepared.meta("mmod"), upsample=upsample)


def _hog(context: ModelContext, upsample: int) -> Detector:
    from faceindex.models.detector import HogDetector

    return HogDetector(upsample=upsample)


DETECTORS: dict[str, DetectorEntry] = {
    "blazeface": DetectorEntry(
        _blazeface,
        "MediaPipe BlazeFace full range over tiles, with a padded pass for close-ups; faces from ~20 px",
        "Apache-2.0 (MediaPipe)",
        # no look-alike (dogs' faces, on the hard_faces dev set's face-free photos) scored more than 0.79
        verifier="mmod",
        sure_score=0.8,
    ),
    "mmod": DetectorEntry(_mmod, "dlib's CNN (MMOD) on onnxruntime; faces from ~40 px at upsample 1", "public domain"),
    "hog": DetectorEntry(_hog, "dlib's HOG + linear SVM; frontal faces from ~40 px at upsample 1", "public domain"),
}


@dataclass
class MeshLandmarker:
    """FaceMesh's 468 points, depth and face-presence score; crops levelled by the 5-point eyes."""

    mesh: object  # facemesh.FaceMesh (typed loosely: this module imports no runtime)
    name: str = "mesh"

    def landmarks(self, image: RGBImage, boxes: list[PixelBox], five: list[Points]) -> list[FaceLandmarks]:
        # dlib's 5-point order: image-right eye (0, 1), image-left eye (2, 3)
        eyes = [(p[2:4].mean(axis=0), p[0:2].mean(axis=0)) for p in five]
        results = self.mesh.run(image, boxes, eyes)  # type: ignore[attr-defined]
        return [FaceLandmarks(r.points, presence=r.presence, points3d=r.points3d) for r in results]


@dataclass
class DlibLandmarker:
    """dlib's shape predictors: the 5 points alignment already has, or the 68-point model."""

    points: str  # "5" | "68"
    name: str = "dlib"
    _predictor: object | None = field(default=None, repr=False)

    def landmarks(self, image: RGBImage, boxes: list[PixelBox], five: list[Points]) -> list[FaceLandmarks]:
        if self.points == "5":
            return [FaceLandmarks(p) for p in five]
        from faceindex.models.landmarks import ShapePredictor, shape_points

        if self._predictor is None:
            self._predictor = ShapePredictor(pack.source_files()["shape68"])
        shapes = self._predictor.shapes(image, boxes)  # type: ignore[attr-defined]
        return [FaceLandmarks(shape_points(s)) for s in shapes]


def _mesh(context: ModelContext) -> Landmarker:
    from faceindex.models.facemesh import FaceMesh, model_path
    from faceindex.models.litert import TfliteModel

    return MeshLandmarker(FaceMesh(TfliteModel(model_path(), context.threads)))


LANDMARKERS: dict[str, LandmarkerEntry] = {
    "mesh": LandmarkerEntry(_mesh, "MediaPipe FaceMesh: 468 points with depth", "Apache-2.0 (MediaPipe)"),
    "5": LandmarkerEntry(lambda _: DlibLandmarker("5"), "dlib's 5-point shape predictor", "public domain"),
    "68": LandmarkerEntry(
        lambda _: DlibLandmarker("68"), "dlib's 68-point shape predictor (opt-in)", pack.LICENCES["shape68"]
    ),
}
MESH = "mesh"  # the landmarker whose face-presence score adds to a face's confidence


def _mmod_crops(context: ModelContext) -> Verifier:
    from faceindex.models.detector import MmodDetector
    from faceindex.models.runtime import OnnxModel
    from faceindex.models.verify import CropVerifier

    prepared = context.model_pack()
    model = OnnxModel(prepared.onnx_path("mmod").read_bytes(), context.threads, "verifier")
    return CropVerifier(MmodDetector(model, prepared.meta("mmod"), upsample=0))


VERIFIERS: dict[str, Callable[[ModelContext], Verifier]] = {"mmod": _mmod_crops}


def _resnet(context: ModelContext) -> Embedder:
    from faceindex.models.embedder import Embedder as ResnetEmbedder
    from faceindex.models.runtime import OnnxModel

    prepared = context.model_pack()
    return ResnetEmbedder(OnnxModel(prepared.onnx_path("resnet").read_bytes(), context.threads, "embedder"))


EMBEDDERS: dict[str, Callable[[ModelContext], Embedder]] = {"resnet": _resnet}


def detector(name: str) -> DetectorEntry:
    return _entry(DETECTORS, name, "detector")


def landmarker(name: str) -> LandmarkerEntry:
    return _entry(LANDMARKERS, name, "landmark model")


def embedder(name: str) -> Callable[[ModelContext], Embedder]:
    return _entry(EMBEDDERS, name, "embedder")


def verifier(name: str) -> Callable[[ModelContext], Verifier]:
    return _entry(VERIFIERS, name, "verifier")


T = TypeVar("T")


def _entry(table: dict[str, T], name: str, kind: str) -> T:
    try:
        return table[name]
    except KeyError:
        raise ModelError(f"no {kind} named {name!r}; there are {', '.join(sorted(table))}") from None
