"""The one place where the models are composed: image -> list[AnalyzedFace].

decode -> detect -> 5-point shape -> landmarks (FaceMesh: one batch) -> the detector's unsure proposals
confirmed or dropped by a verifier (BlazeFace: dlib's CNN on crops) -> align (150 px chips on FaceMesh's eye
corners and nose, or dlib's 5 points; imaging.align) -> embed (one batch; with alignment "facemesh" each chip
and its mirror, averaged) -> analysis (box ratios, landmarks, pose, quality, eyes, mouth)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from faceindex.analysis import eyes_mouth, landmarks, pose, quality
from faceindex.config import Settings
from faceindex.imaging import align
from faceindex.imaging.decode import DecodedImage, ImageInput, decode_image
from faceindex.models import pack, registry
from faceindex.models.base import Detector, Embedder, Landmarker, Verifier
from faceindex.models.landmarks import ShapePredictor, chips_at, face_chips, shape_points
from faceindex.types import AnalyzedFace, BoundingBox, Detection, FaceDetail, Points, RGBImage

ATTRIBUTES = ("DEFAULT", "ALL")
T = TypeVar("T")
# FaceMesh is this sure of a face: real faces cut by the image edge score 1.0; no dog's face of the dev set
# scored more than 0.9989 (with BlazeFace under 0.8, the other proposals are for the verifier)
CERTAIN_PRESENCE = 0.9995


class FaceAnalyzer(Protocol):
    """What the services need of an engine: `FaceEngine` here, `models.fake.FakeEngine` in fast tests."""

    settings: Settings

    def decode(self, image: ImageInput | DecodedImage) -> DecodedImage: ...

    def analyze(
        self, image: ImageInput | DecodedImage, attributes: Iterable[str] = ("DEFAULT",), embed: bool = True
    ) -> list[AnalyzedFace]: ...

    def warm_up(self) -> None: ...


def _agreed(detection: Detection, probability: float | None) -> Detection:
    """Confidence of a face a second model also judged (FaceMesh's presence, the verifier's confidence):
    the chance that not both are wrong, 1 - (1 - detector) * (1 - other), on 0-100. BlazeFace alone put a
    clear frontal face at ~99.4 (5% of the clean CelebA faces under 97.6, 1% under 88); FaceMesh's presence
    for them is >= 0.98. Rekognition reports ~99.9 for such faces, and LOW_CONFIDENCE should mean doubt."""
    if probability is None:
        return detection
    doubt = (1.0 - detection.confidence / 100.0) * (1.0 - probability)
    return replace(detection, confidence=100.0 * (1.0 - doubt))


@dataclass(frozen=True)
class LocatedFace:
    detection: Detection
    shape5: object  # dlib full_object_detection: what alignment uses
    points: Points  # the landmarks analysis reads (FaceMesh 468, dlib 68 or dlib 5)
    points3d: npt.NDArray[np.float64] | None = None  # FaceMesh's 3-D points, when it ran: what pose reads
    presence: float | None = None  # FaceMesh's face-presence score, when it ran: whether alignment trusts it


@dataclass
class FaceEngine:
    """Builds its models lazily, once, under a lock, by name through `models.registry`; safe to share
    between threads. Engines made by `with_detector` / `with_landmarks` share the loaded models."""

    settings: Settings = field(default_factory=Settings)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _built: dict[str, object] = field(default_factory=dict, repr=False)  # "detector:mmod:1" -> the model

    def _model(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._built:
                self._built[key] = build()
            return self._built[key]  # type: ignore[return-value]

    @property
    def context(self) -> registry.ModelContext:
        return registry.ModelContext(self.settings.threads, lambda: self.model_pack)

    @property
    def model_pack(self) -> pack.PreparedPack:
        return self._model("pack", lambda: pack.prepare(self.settings.model_cache))

    @property
    def detector_entry(self) -> registry.DetectorEntry:
        return registry.detector(self.settings.detector)

    @property
    def detector(self) -> Detector:
        name, upsample = self.settings.detector, self.settings.detector_upsample
        return self._model(f"detector:{name}:{upsample}", lambda: self.detector_entry.build(self.context, upsample))

    def verifier(self, name: str) -> Verifier:
        return self._model(f"verifier:{name}", lambda: registry.verifier(name)(self.context))

    def landmarker(self, name: str) -> Landmarker:
        return self._model(f"landmarks:{name}", lambda: registry.landmarker(name).build(self.context))

    @property
    def embedder(self) -> Embedder:
        return self._model("embedder:resnet", lambda: registry.embedder("resnet")(self.context))

    @property
    def aligner(self) -> ShapePredictor:
        """dlib's 5-point model: the points the descriptor's alignment (face chips) is defined on."""
        return self._model("aligner", lambda: ShapePredictor(pack.source_files()["shape5"]))

    def warm_up(self) -> None:
        """Load every model now (a server does this before it reports ready)."""
        _ = self.detector, self.embedder, self.aligner, self.landmarker(self.settings.landmarks)
        if self.detector_entry.verifier is not None:
            self.verifier(self.detector_entry.verifier)

    def with_detector(self, detector: str, upsample: int = 1) -> FaceEngine:
        """The same loaded models with another detector."""
        return self._sharing(replace(self.settings, detector=detector, detector_upsample=upsample))

    def with_landmarks(self, landmarks: str) -> FaceEngine:
        """The same loaded models with another landmark model for analysis."""
        return self._sharing(replace(self.settings, landmarks=landmarks))

    def with_alignment(self, alignment: str) -> FaceEngine:
        """The same loaded models with another descriptor alignment ("dlib5": face_recognition's descriptor)."""
        return self._sharing(replace(self.settings, alignment=alignment))

    def _sharing(self, settings: Settings) -> FaceEngine:
        return FaceEngine(settings, self._lock, self._built)

    def locate(self, pixels: RGBImage) -> list[LocatedFace]:
        """Faces, largest first, with their alignment shape and the landmarks analysis reads."""
        detections = sorted(self.detector.detect(pixels), key=lambda d: d.box.area, reverse=True)
        boxes = [d.box for d in detections]
        shapes5 = self.aligner.shapes(pixels, boxes)
        five = [shape_points(s) for s in shapes5]
        found = self.landmarker(self.settings.landmarks).landmarks(pixels, boxes, five)
        located = [
            LocatedFace(_agreed(d, f.presence), shape, f.points, f.points3d, f.presence)
            for d, shape, f in zip(detections, shapes5, found, strict=True)
        ]
        entry = self.detector_entry
        if entry.verifier is None:
            return located
        # e.g. BlazeFace proposes; an unsure proposal stays when FaceMesh is certain or dlib's CNN confirms it
        unsure = [
            i
            for i, (d, f) in enumerate(zip(detections, found, strict=True))
            if d.score < entry.sure_score and (f.presence or 0.0) < CERTAIN_PRESENCE
        ]
        opinions = self.verifier(entry.verifier).confirm(pixels, [boxes[i] for i in unsure])
        verdicts = dict(zip(unsure, opinions, strict=True))
        kept = []
        for i, face in enumerate(located):
            if i not in verdicts:
                kept.append(face)
            elif (opinion := verdicts[i]) is not None:
                kept.append(replace(face, detection=_agreed(face.detection, opinion.confidence / 100)))
        return kept

    @property
    def canonical_face(self) -> npt.NDArray[np.float64]:
        from faceindex.models.facemesh import canonical_face

        return self._model("canonical-face", canonical_face)

    def chips(self, pixels: RGBImage, located: list[LocatedFace]) -> npt.NDArray[np.uint8]:
        """The 150 px chip of each face, aligned as `settings.alignment` says (imaging.align)."""
        alignment = self.settings.alignment
        fives = [align.alignment_points(alignment, face.points, face.presence) for face in located]
        if all(five is None for five in fives):  # dlib5, or no sure mesh: dlib's chips, face_recognition's
            return face_chips(pixels, [face.shape5 for face in located])
        return np.concatenate(
            [
                face_chips(pixels, [face.shape5]) if five is None else chips_at(pixels, [five])
                for face, five in zip(located, fives, strict=True)
            ]
        )

    def descriptors(self, pixels: RGBImage, located: list[LocatedFace]) -> npt.NDArray[np.float32]:
        """One 128-D float32 descriptor per face, in one embedder batch."""
        chips = self.chips(pixels, located)
        if self.settings.alignment == "dlib5":
            return self.embedder.embed(chips)
        # the net is not quite symmetric: a chip's and its mirror's mean is +0.07 points alone, more with the mesh
        return align.averaged_halves(self.embedder.embed(align.mirrored(chips)))

    def decode(self, image: ImageInput | DecodedImage) -> DecodedImage:
        """Decoded once: an image already decoded is returned as it is."""
        return image if isinstance(image, DecodedImage) else decode_image(image, self.settings.limits)

    def detect(self, pixels: RGBImage) -> list[Detection]:
        return [face.detection for face in self.locate(pixels)]

    def analyze(
        self,
        image: ImageInput | DecodedImage,
        attributes: Iterable[str] = ("DEFAULT",),
        embed: bool = True,
        embed_if: Callable[[list[tuple[BoundingBox, float]]], bool] | None = None,
    ) -> list[AnalyzedFace]:
        """Every face in the image, largest first, with descriptors when `embed` is true (and, given
        `embed_if`, when it says yes to the faces found, as (box ratios, confidence): a video job's tracker
        asks for them on some frames only)."""
        decoded = self.decode(image)
        wanted = set(attributes)
        pixels, width, height = decoded.pixels, decoded.width, decoded.height
        located = self.locate(pixels)
        if embed and located and embed_if is not None:
            embed = embed_if([(f.detection.box.to_ratios(width, height), f.detection.confidence) for f in located])
        descriptors = self.descriptors(pixels, located) if embed and located else None
        faces = []
        for index, face in enumerate(located):
            detection, points = face.detection, face.points
            detail = FaceDetail(
                BoundingBox=detection.box.to_ratios(width, height),
                Confidence=round(detection.confidence, 5),
                Landmarks=landmarks.to_rekognition(points, width, height),
                Pose=pose.estimate_pose(points, width, height)
                if face.points3d is None
                else pose.pose_from_mesh(face.points3d, self.canonical_face),
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
