"""Use-cases of the face engine: detect, embed and compare, with Rekognition's semantics."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from faceindex.analysis.calibration import calibration, significant
from faceindex.analysis.similarity import distances, similarity
from faceindex.errors import InvalidParameter, NoFaceInSource
from faceindex.imaging.decode import DecodedImage, ImageInput
from faceindex.pipeline import ATTRIBUTES, FaceAnalyzer
from faceindex.service.quality import check_filter, rejection_reasons
from faceindex.types import CompareFacesMatch, CompareFacesResult, Descriptor, FaceDetail

# Rekognition's single-attribute names: the ones we estimate select ALL (which adds exactly them);
# the others are accepted, as Rekognition accepts them, and have nothing to add here.
ESTIMATED = ("EYES_OPEN", "MOUTH_OPEN")
NOT_ESTIMATED = (
    "AGE_RANGE", "BEARD", "EMOTIONS", "EYE_DIRECTION", "EYEGLASSES", "FACE_OCCLUDED", "GENDER", "MUSTACHE",
    "SMILE", "SUNGLASSES",
)  # fmt: skip


def check_attributes(attributes: Iterable[str]) -> list[str]:
    values = list(attributes)
    unknown = [a for a in values if a not in (*ATTRIBUTES, *ESTIMATED, *NOT_ESTIMATED)]
    if unknown:
        raise InvalidParameter(f"Attributes must be DEFAULT, ALL or Rekognition attribute names, not {unknown[0]!r}")
    if any(a in ("ALL", *ESTIMATED) for a in values):
        return ["ALL"]
    return ["DEFAULT"]


def detect_faces(
    engine: FaceAnalyzer, image: ImageInput | DecodedImage, attributes: Iterable[str] = ("DEFAULT",)
) -> list[FaceDetail]:
    """Rekognition's DetectFaces: every face, largest first."""
    faces = engine.analyze(image, check_attributes(attributes), embed=False)
    return [face.detail for face in faces]


def embed_faces(engine: FaceAnalyzer, image: ImageInput) -> list[tuple[FaceDetail, Descriptor]]:
    """Every face with its 128-D descriptor, largest first."""
    faces = engine.analyze(image)
    return [(face.detail, face.descriptor) for face in faces if face.descriptor is not None]


def compare_faces(
    engine: FaceAnalyzer,
    source: ImageInput | DecodedImage,
    target: ImageInput | DecodedImage,
    similarity_threshold: float = 80.0,
    quality_filter: str | None = None,
) -> CompareFacesResult:
    """Rekognition's CompareFaces: the largest source face against every face of the target.
    QualityFilter (default NONE, as in Rekognition) leaves out target faces below its bar; a source
    face below it is an error, as a source without a face is."""
    if not 0.0 <= similarity_threshold <= 100.0:
        raise InvalidParameter("SimilarityThreshold must be between 0 and 100")
    quality = check_filter(quality_filter, "NONE")
    source_image, target_image = engine.decode(source), engine.decode(target)
    source_faces = engine.analyze(source_image)
    if not source_faces or source_faces[0].descriptor is None:
        raise NoFaceInSource("There are no faces in the source image")
    query = source_faces[0]
    reasons = rejection_reasons(query.detail, source_image.width, source_image.height, quality)
    if reasons:
        raise NoFaceInSource(
            f"The largest face in the source image does not pass the QualityFilter ({', '.join(reasons)})"
        )
    target_faces = [
        face
        for face in engine.analyze(target_image)
        if face.descriptor is not None
        and not rejection_reasons(face.detail, target_image.width, target_image.height, quality)
    ]
    matches: list[CompareFacesMatch] = []
    unmatched: list[FaceDetail] = []
    if target_faces:
        candidates = np.stack([face.descriptor for face in target_faces if face.descriptor is not None])
        gaps = distances(query.descriptor, candidates)  # type: ignore[arg-type]
        rates = calibration()
        for face, gap, score in zip(target_faces, gaps, similarity(gaps), strict=True):
            if score >= similarity_threshold:
                rate = significant(rates.false_match_rate(float(gap)))
                matches.append(
                    CompareFacesMatch(Similarity=round(float(score), 5), Face=face.detail, FalseMatchRate=rate)
                )
            else:
                unmatched.append(face.detail)
    matches.sort(key=lambda m: m.Similarity, reverse=True)
    return CompareFacesResult(SourceImageFace=query.detail, FaceMatches=tuple(matches), UnmatchedFaces=tuple(unmatched))
