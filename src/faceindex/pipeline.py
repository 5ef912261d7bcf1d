"""The one place where the models are composed: image -> list[AnalyzedFace].

decode -> detect -> 5-point shape -> FaceMesh (one batch; with BlazeFace also the check that a
proposal is a face) -> align (150 px chips) -> embed (one batch)
-> analysis (box ratios, landmarks, pose, quality, eyes, mouth)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from faceindex.analysis import eyes_mouth, landmarks, pose, quality
from faceindex.config import Settings
from faceindex.imaging.decode import DecodedImage, ImageInput, decode_image
from faceindex.models import pack
from faceindex.models.blazeface import BlazeFaceDetector
from faceindex.models.detector import FaceDetector, HogDetector, MmodDetector
from faceindex.models.embedder import Embedder
from faceindex.models.facemesh import FaceMesh
from faceindex.models.facemesh import model_path as facemesh_path
from faceindex.models.landmarks import ShapePredictor, face_chips, shape_points
from faceindex.models.litert import TfliteModel, mediapipe_model
from faceindex.models.runtime import OnnxModel
from faceindex.types import AnalyzedFace, Detection, FaceDetail, Points, RGBImage

ATTRIBUTES = ("DEFAULT", "ALL")
MIN_PRESENCE = 0.5  # FaceMesh's face-presence probability: real faces score ~1.0, look-alikes ~0


class FaceAnalyzer(Protocol):
    """What the services need of an engine: `FaceEngine` here, `models.fake.FakeEngine` in fast tests."""

    settings: Settings

    def decode(self, image: ImageInput | DecodedImage) -> DecodedImage: ...

    def analyze(
        self, image: ImageInput | DecodedImage, attributes: Iterable[str] = ("DEFAULT",), embed: bool = True
    ) -> list[AnalyzedFace]: ...

    def warm_up(self) -> None: ...


@dataclass(frozen=True)
class LocatedFace:
    detection: Detection
    shape5: object  # dlib full_object_detection: what alignment uses
    points: Points  # the landmarks analysis reads (FaceMesh 468, dlib 68 or dlib 5)


@dataclass
class FaceEngine:
    """Builds its models lazily, once, under a lock; safe to share between threads."""

    settings: Settings = field(default_factory=Settings)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pack: pack.PreparedPack | None = field(default=None, repr=False)
    _detector: FaceDetector | None = field(default=None, repr=False)
    _embedder: Embedder | None = field(default=None, repr=False)
    _shapes: dict[str, ShapePredictor] = field(default_factory=dict, repr=False)
    _mesh: FaceMesh | None = field(default=None, repr=False)

    @property
    def model_pack(self) -> pack.PreparedPack:
        with self._lock:
            if self._pack is None:
                self._pack = pack.prepare(self.settings.model_cache)
            return self._pack

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            if self.settings.detector == "hog":
                self._detector = HogDetector(upsample=self.settings.detector_upsample)
            elif self.settings.detector == "blazeface":
                blazeface = TfliteModel(mediapipe_model("face_detection_full_range.tflite"), self.settings.threads)
                self._detector = BlazeFaceDetector(blazeface)
            else:
                prepared = self.model_pack
                model = OnnxModel(prepared.onnx_path("mmod").read_bytes(), self.settings.threads, "detector")
                self._detector = MmodDetector(model, prepared.meta("mmod"), upsample=self.settings.detector_upsample)
        return self._detector

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            prepared = self.model_pack
            model = OnnxModel(prepared.onnx_path("resnet").read_bytes(), self.settings.threads, "embedder")
            self._embedder = Embedder(model)
        return self._embedder

    def warm_up(self) -> None:
        """Load every model now (a server does this before it reports ready)."""
        _ = self.detector, self.embedder, self.mesh, self.shape_predictor("5")

    def shape_predictor(self, points: str) -> ShapePredictor:
        if points not in self._shapes:
            self._shapes[points] = ShapePredictor(pack.source_files()["shape68" if points == "68" else "shape5"])
        return self._shapes[points]

    def with_detector(self, detector: str, upsample: int = 1) -> FaceEngine:
        """The same loaded models with another detector."""
        other = self.with_landmarks(self.settings.landmarks)
        other.settings = replace(self.settings, detector=detector, detector_upsample=upsample)
        other._detector = None
        return other

    def with_landmarks(self, landmarks: str) -> FaceEngine:
        """The same loaded models with another landmark model for analysis."""
        other = FaceEngine(replace(self.settings, landmarks=landmarks))
        other._pack, other._detector, other._embedder = self._pack, self._detector, self._embedder
        other._shapes, other._mesh = self._shapes, self._mesh
        return other

    @property
    def mesh(self) -> FaceMesh:
        if self._mesh is None:
            self._mesh = FaceMesh(TfliteModel(facemesh_path(), self.settings.threads))
        return self._mesh

    def locate(self, pixels: RGBImage) -> list[LocatedFace]:
        """Faces, largest first, with their alignment shape and the landmarks analysis reads."""
        detections = sorted(self.detector.detect(pixels), key=lambda d: d.box.area, reverse=True)
        boxes = [d.box for d in detections]
        shapes5 = self.shape_predictor("5").shapes(pixels, boxes)
        five = [shape_points(s) for s in shapes5]
        verify = self.settings.detector == "blazeface"
        meshes = []
        if verify or self.settings.landmarks == "mesh":
            # 5-point order: image-right eye (0, 1), image-left eye (2, 3)
            eyes = [(p[2:4].mean(axis=0), p[0:2].mean(axis=0)) for p in five]
            meshes = self.mesh.run(pixels, boxes, eyes)  # type: ignore[arg-type]
        if self.settings.landmarks == "mesh":
            points = [m.points for m in meshes]
        elif self.settings.landmarks == "68":
            points = [shape_points(s) for s in self.shape_predictor("68").shapes(pixels, boxes)]
        else:
            points = five
        located = [LocatedFace(d, shape, p) for d, shape, p in zip(detections, shapes5, points, strict=True)]
        if verify:  # BlazeFace proposes, FaceMesh's face-presence score confirms
            located = [face for face, mesh in zip(located, meshes, strict=True) if mesh.presence >= MIN_PRESENCE]
        return located

    def decode(self, image: ImageInput | DecodedImage) -> DecodedImage:
        """Decoded once: an image already decoded is returned as it is."""
        return image if isinstance(image, DecodedImage) else decode_image(image, self.settings.limits)

    def detect(self, pixels: RGBImage) -> list[Detection]:
        return [face.detection for face in self.locate(pixels)]

    def analyze(
        self, image: ImageInput | DecodedImage, attributes: Iterable[str] = ("DEFAULT",), embed: bool = True
    ) -> list[AnalyzedFace]:
        """Every face in the image, largest first, with descriptors when `embed` is true."""
        decoded = self.decode(image)
        wanted = set(attributes)
        pixels, width, height = decoded.pixels, decoded.width, decoded.height
        located = self.locate(pixels)
        descriptors = None
        if embed and located:
            descriptors = self.embedder.embed(face_chips(pixels, [face.shape5 for face in located]))
        faces = []
        for index, face in enumerate(located):
            detection, points = face.detection, face.points
            detail = FaceDetail(
                BoundingBox=detection.box.to_ratios(width, height),
                Confidence=round(detection.confidence, 5),
                Landmarks=landmarks.to_rekognition(points, width, height),
                Pose=pose.estimate_pose(points, width, height),
                Quality=quality.face_quality(pixels, detection.box),
            )
            if "ALL" in wanted:
                detail = replace(detail, EyesOpen=eyes_mouth.eyes_open(points), MouthOpen=eyes_mouth.mouth_open(points))
            faces.append(
                AnalyzedFace(
                    detail=detail,
                    box=detection.box,
                    descriptor=None if descriptors is None else descriptors[index],
                )
            )
        return faces
