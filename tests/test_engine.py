"""Detection, analysis and comparison on real photos with the real models."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import faceindex
from faceindex.analysis.landmarks import REKOGNITION_LANDMARK_TYPES
from faceindex.analysis.similarity import distance_for, similarity
from faceindex.errors import InvalidParameter, NoFaceInSource
from faceindex.pipeline import FaceEngine
from faceindex.service.faces import compare_faces, detect_faces, embed_faces
from tests.conftest import face_photos


@pytest.fixture(scope="module")
def descriptors(engine: FaceEngine, testdata: Path) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for person, path in face_photos(testdata):
        faces = embed_faces(engine, path)
        assert faces, f"no face in {path}"
        out.append((person, path.name, faces[0][1]))
    return out


def test_same_person_pairs_score_at_least_80_and_others_below(descriptors: list[tuple[str, str, np.ndarray]]) -> None:
    same = different = 0
    for (p1, n1, d1), (p2, n2, d2) in itertools.combinations(descriptors, 2):
        score = float(similarity(np.linalg.norm(d1 - d2)))
        if p1 == p2:
            assert score >= 80, f"{p1}/{n1} vs {p2}/{n2}: {score:.1f}"
            same += 1
        else:
            assert score < 80, f"{p1}/{n1} vs {p2}/{n2}: {score:.1f}"
            different += 1
    assert same >= 10 and different >= 100


def test_similarity_is_monotonic_and_maps_the_decision_point_to_80() -> None:
    d = np.linspace(0, 2, 2001)
    s = similarity(d)
    assert s[0] == pytest.approx(100)
    assert np.all(np.diff(s) <= 0)
    assert np.all(np.diff(s[50:]) < 0)  # strictly decreasing where float64 can tell values apart
    assert float(similarity(0.6)) == pytest.approx(80.0)
    assert distance_for(80.0) == pytest.approx(0.6)
    assert float(similarity(distance_for(95.0))) == pytest.approx(95.0)


def test_compare_faces_semantics(engine: FaceEngine, testdata: Path) -> None:
    result = compare_faces(engine, testdata / "faces/obama/1.jpg", testdata / "multi/obama_and_biden.jpg")
    assert len(result.FaceMatches) == 1
    assert result.FaceMatches[0].Similarity >= 80
    assert len(result.UnmatchedFaces) >= 1  # Biden (and anyone else in the photo)
    everything = compare_faces(engine, testdata / "faces/obama/1.jpg", testdata / "multi/obama_and_biden.jpg", 0.0)
    assert len(everything.FaceMatches) == len(result.FaceMatches) + len(result.UnmatchedFaces)
    with pytest.raises(InvalidParameter, match="between 0 and 100"):
        compare_faces(engine, testdata / "faces/obama/1.jpg", testdata / "faces/obama/2.jpg", 101)


def test_compare_faces_quality_filter(engine: FaceEngine, testdata: Path) -> None:
    source, crowd = testdata / "faces/obama/1.jpg", testdata / "crowd/1.jpg"
    counts = {}
    for bar in ("NONE", "LOW", "HIGH"):
        result = compare_faces(engine, source, crowd, 0.0, bar)  # threshold 0: every compared face matches
        assert not result.UnmatchedFaces
        counts[bar] = len(result.FaceMatches)
    assert counts["NONE"] > counts["LOW"] > counts["HIGH"]  # the crowd's small faces fall out, not the request
    assert counts["NONE"] == len(compare_faces(engine, source, crowd, 0.0).FaceMatches)  # NONE is the default
    with pytest.raises(NoFaceInSource, match=r"QualityFilter.*SMALL_BOUNDING_BOX"):
        compare_faces(engine, testdata / "resolution/obama-240p.jpg", source, 80.0, "HIGH")
    with pytest.raises(InvalidParameter, match="QualityFilter must be"):
        compare_faces(engine, source, crowd, 80.0, "BEST")


def test_no_face_in_source_is_invalid_parameter(engine: FaceEngine, testdata: Path) -> None:
    blank = np.full((200, 200, 3), 127, np.uint8)
    with pytest.raises(NoFaceInSource) as info:
        compare_faces(engine, blank, testdata / "faces/obama/1.jpg")
    assert info.value.code == "InvalidParameterException"


@pytest.mark.parametrize("scheme", ["mesh", "68"])
def test_face_detail_in_rekognitions_vocabulary(scheme: str, engine: FaceEngine, testdata: Path) -> None:
    faces = detect_faces(engine.with_landmarks(scheme), testdata / "faces/obama/1.jpg", ["ALL"])
    assert len(faces) == 1
    face = faces[0]
    box = face.BoundingBox
    assert 0 < box.Left < 1 and 0 < box.Top < 1 and 0.1 < box.Width < 0.5 and 0.1 < box.Height < 0.5
    assert 90 < face.Confidence <= 100
    assert {lm.Type for lm in face.Landmarks} == set(REKOGNITION_LANDMARK_TYPES)
    assert len(REKOGNITION_LANDMARK_TYPES) == 30
    marks = {lm.Type: lm for lm in face.Landmarks}
    assert marks["eyeLeft"].X < marks["nose"].X < marks["eyeRight"].X
    assert marks["eyeLeft"].Y < marks["nose"].Y < marks["mouthUp"].Y < marks["chinBottom"].Y
    assert face.Pose is not None and abs(face.Pose.Roll) < 15 and abs(face.Pose.Yaw) < 25
    assert face.Quality is not None and 20 < face.Quality.Brightness < 90 and face.Quality.Sharpness > 50
    assert face.EyesOpen is not None and face.EyesOpen.Value
    assert face.MouthOpen is not None


def test_five_point_landmarks_give_what_they_define(engine: FaceEngine, testdata: Path) -> None:
    assert engine.settings.landmarks == "mesh"  # the default is licence-clean and complete
    face = detect_faces(engine.with_landmarks("5"), testdata / "faces/obama/1.jpg", ["ALL"])[0]
    types = {lm.Type for lm in face.Landmarks}
    assert {"eyeLeft", "eyeRight", "nose", "leftPupil", "rightPupil"} <= types
    assert face.EyesOpen is None and face.MouthOpen is None  # no eyelid or lip points in this model
    with pytest.raises(InvalidParameter):
        detect_faces(engine, testdata / "faces/obama/1.jpg", ["AGE"])


def test_exif_variants_all_find_the_face_upright(engine: FaceEngine, testdata: Path) -> None:
    reference = detect_faces(engine, testdata / "edge/exif_orientation/hopper.jpg")
    assert len(reference) == 1
    expected = reference[0].BoundingBox
    for variant in sorted((testdata / "edge/exif_orientation").glob("hopper_orientation_*")):
        faces = detect_faces(engine, variant)
        assert len(faces) == 1, variant.name
        box = faces[0].BoundingBox
        assert abs(box.Left - expected.Left) < 0.08 and abs(box.Top - expected.Top) < 0.08, variant.name
        marks = {lm.Type: lm for lm in faces[0].Landmarks}
        assert marks["eyeLeft"].Y < marks["nose"].Y, f"{variant.name}: face is not upright"


def test_edge_files_give_faces_or_clean_errors(engine: FaceEngine, testdata: Path) -> None:
    for path in sorted((testdata / "edge").rglob("*")):
        if not path.is_file():
            continue
        try:
            faces = detect_faces(engine, path)
        except faceindex.FaceIndexError as exc:
            assert "corrupt" in str(path), f"{path}: {exc}"
            continue
        assert "corrupt" not in str(path)
        if "partial" not in str(path) and "cmyk" not in str(path):
            assert faces, f"no face in {path}"


def test_detector_finds_small_faces(engine: FaceEngine, testdata: Path) -> None:
    """Faces down to ~40 px: the 1080p scene scaled to have its faces that small."""
    faces = detect_faces(engine, testdata / "crowd/multiface.jpg")
    assert len(faces) >= 5
    pixels = engine.decode(testdata / "faces/obama/1.jpg").pixels
    small = pixels[::5, ::5].copy()  # the face becomes ~47 px wide
    found = detect_faces(engine, small)
    assert len(found) == 1
    assert found[0].BoundingBox.Width * small.shape[1] < 60


def test_library_functions_accept_bytes_paths_and_arrays(engine: FaceEngine, testdata: Path) -> None:
    path = testdata / "faces/biden/1.jpg"
    by_path = faceindex.detect_faces(path, engine=engine)
    by_bytes = faceindex.detect_faces(path.read_bytes(), engine=engine)
    by_array = faceindex.detect_faces(engine.decode(path).pixels, engine=engine)
    assert by_path == by_bytes == by_array
    assert len(faceindex.embed_faces(path, engine=engine)[0][1]) == 128


def test_default_detector_finds_small_crowd_faces_that_dlibs_cnn_misses(engine: FaceEngine, testdata: Path) -> None:
    """crowd/1.jpg: ~40 faces of 20-30 px. dlib's CNN (upsample 1) finds none of them."""
    faces = detect_faces(engine, testdata / "crowd/1.jpg")
    assert len(faces) >= 30
    widths = [f.BoundingBox.Width * 720 for f in faces]
    assert max(widths) < 60


def test_default_detector_finds_exactly_the_one_face_of_each_portrait(engine: FaceEngine, testdata: Path) -> None:
    """large/ has hair and a round logo that BlazeFace alone takes for faces; FaceMesh rejects them."""
    portraits = [path for _, path in face_photos(testdata)] + sorted((testdata / "large").glob("*.jpg"))
    for path in portraits:
        assert len(detect_faces(engine, path)) == 1, path


def test_default_descriptor_is_facemesh_aligned_chip_and_mirror_averaged(engine: FaceEngine, testdata: Path) -> None:
    """alignment "facemesh": the chip on FaceMesh's eye corners and nose (imaging.align), embedded with its
    mirror image and the two averaged; 128-D float32 as before, and not the dlib5 descriptor."""
    from faceindex.imaging import align
    from faceindex.models.landmarks import chips_at, face_chips

    assert engine.settings.alignment == "facemesh"
    pixels = engine.decode(testdata / "faces/obama/1.jpg").pixels
    face = engine.locate(pixels)[0]
    descriptor = engine.analyze(pixels)[0].descriptor
    assert descriptor is not None and descriptor.dtype == np.float32 and descriptor.shape == (128,)
    chip = chips_at(pixels, [align.mesh_five(face.points)])
    expected = engine.embedder.embed(np.concatenate([chip, chip[:, :, ::-1]])).mean(axis=0)
    assert np.abs(descriptor - expected).max() < 1e-5
    dlib5 = engine.embedder.embed(face_chips(pixels, [face.shape5]))[0]
    assert 0.02 < np.linalg.norm(descriptor - dlib5) < 0.35  # close (the same face), not the same vector


def test_facemesh_alignment_falls_back_to_dlibs_five_points_without_a_sure_mesh(
    engine: FaceEngine, testdata: Path
) -> None:
    from dataclasses import replace

    from faceindex.models.landmarks import face_chips

    pixels = engine.decode(testdata / "faces/obama/1.jpg").pixels
    face = engine.locate(pixels)[0]
    dlib_chip = face_chips(pixels, [face.shape5])
    for unsure in (replace(face, presence=0.1), replace(face, presence=None), replace(face, points=face.points[:5])):
        assert np.array_equal(engine.chips(pixels, [unsure]), dlib_chip)
    assert not np.array_equal(engine.chips(pixels, [face]), dlib_chip)
    mixed = engine.chips(pixels, [face, replace(face, presence=0.1)])  # each face chooses for itself
    assert mixed.shape == (2, 150, 150, 3) and np.array_equal(mixed[1:], dlib_chip)


def test_dlib5_alignment_gives_face_recognitions_descriptor(engine: FaceEngine, testdata: Path) -> None:
    """Parity through the pipeline: alignment "dlib5" on the same landmarks is face_recognition's descriptor."""
    import face_recognition

    dlib5 = engine.with_alignment("dlib5")
    compared = 0
    for _, path in face_photos(testdata)[::3]:
        pixels = engine.decode(path).pixels
        located = dlib5.locate(pixels)
        ours = dlib5.descriptors(pixels, located)
        shapes = [face.shape5 for face in located]
        locations = [(s.rect.top(), s.rect.right(), s.rect.bottom(), s.rect.left()) for s in shapes]  # type: ignore[attr-defined]
        theirs = np.array(face_recognition.face_encodings(pixels, locations, num_jitters=1, model="small"))
        assert np.abs(theirs - ours).max() <= 1e-5, path
        compared += len(located)
    assert compared >= 5
