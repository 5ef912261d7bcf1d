"""`import faceindex` as a library user sees it: the public names, PIL images, OpenCV's BGR arrays,
and descriptor distance / similarity, on the real models and photos."""

from __future__ import annotations

import importlib.metadata
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import faceindex
from faceindex.pipeline import FaceEngine

PUBLIC = [
    "MATCH_DISTANCE",
    "BoundingBox",
    "CompareFacesMatch",
    "CompareFacesResult",
    "Descriptor",
    "FaceDetail",
    "FaceEngine",
    "FaceIndexError",
    "ImageLimits",
    "ImageTooLarge",
    "InvalidImageFormat",
    "InvalidParameter",
    "Landmark",
    "ModelError",
    "NoFaceInSource",
    "Pose",
    "Settings",
    "compare_faces",
    "detect_faces",
    "embed_faces",
    "face_distance",
    "face_similarity",
]


def test_the_public_names_are_pinned_and_nothing_else_leaks() -> None:
    assert faceindex.__all__ == PUBLIC  # a change to the public API is a change to this list
    names = {n for n, v in vars(faceindex).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert names == set(PUBLIC)
    assert not {"Iterable", "threading", "annotations"} & set(dir(faceindex))
    assert faceindex.__version__ == importlib.metadata.version("faceindex")


def _boxes(faces: list[faceindex.FaceDetail]) -> list[tuple[float, float, float, float]]:
    return [(f.BoundingBox.Left, f.BoundingBox.Top, f.BoundingBox.Width, f.BoundingBox.Height) for f in faces]


def test_a_pil_image_gives_the_faces_its_file_gives(engine: FaceEngine, testdata: Path) -> None:
    for name in ("multi/obama_and_biden.jpg", "edge/exif_orientation/hopper_orientation_6.jpg"):
        path = testdata / name
        from_file = faceindex.detect_faces(path, engine=engine)
        with Image.open(path) as image:
            from_pil = faceindex.detect_faces(image, engine=engine)
            assert image.size == Image.open(path).size  # the caller's image is left as it was
        assert from_file, name
        assert np.allclose(_boxes(from_pil), _boxes(from_file), atol=1e-6), name  # EXIF orientation applied too


def test_pil_modes_and_unreadable_pil_images(engine: FaceEngine, testdata: Path) -> None:
    with Image.open(testdata / "faces/obama/1.jpg") as image:
        grey, rgba = image.convert("L"), image.convert("RGBA")
    assert len(faceindex.detect_faces(grey, engine=engine)) == 1
    assert len(faceindex.detect_faces(rgba, engine=engine)) == 1
    closed = Image.open(testdata / "faces/obama/1.jpg")
    closed.close()
    with pytest.raises(faceindex.InvalidImageFormat, match="PIL image cannot be read"):
        faceindex.detect_faces(closed, engine=engine)
    with pytest.raises(faceindex.ImageTooLarge):
        faceindex.detect_faces(Image.new("RGB", (8000, 6000)), engine=engine)


def test_bgr_arrays_declared_as_bgr_give_the_rgb_descriptors(engine: FaceEngine, testdata: Path) -> None:
    with Image.open(testdata / "faces/obama/1.jpg") as image:
        rgb = np.asarray(image.convert("RGB"))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # what cv2.imread returns
    bgra = np.concatenate([bgr, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
    (_, expected), *_ = faceindex.embed_faces(rgb, engine=engine)
    for array in (bgr, bgra):
        (_, declared), *_ = faceindex.embed_faces(array, engine=engine, channels="BGR")
        assert faceindex.face_distance(declared, expected) == 0.0
    (_, undeclared), *_ = faceindex.embed_faces(bgr, engine=engine)
    # why the order must be declared: read as RGB, the same photo moves by half the match distance (0.30)
    assert faceindex.face_distance(undeclared, expected) > faceindex.MATCH_DISTANCE / 6
    result = faceindex.compare_faces(bgr, bgr, engine=engine, channels="BGR")
    assert result.FaceMatches[0].Similarity == pytest.approx(100.0)
    with pytest.raises(faceindex.InvalidParameter, match="channels must be RGB or BGR"):
        faceindex.detect_faces(rgb, engine=engine, channels="bgr")
    with pytest.raises(faceindex.InvalidParameter, match="describes an array"):
        faceindex.detect_faces(testdata / "faces/obama/1.jpg", engine=engine, channels="BGR")


def test_face_distance_and_similarity_agree_with_compare_faces(engine: FaceEngine, testdata: Path) -> None:
    (_, obama), *_ = faceindex.embed_faces(testdata / "faces/obama/1.jpg", engine=engine)
    (_, obama2), *_ = faceindex.embed_faces(testdata / "faces/obama/2.jpg", engine=engine)
    (_, biden), *_ = faceindex.embed_faces(testdata / "faces/biden/1.jpg", engine=engine)
    assert faceindex.face_distance(obama, obama2) < faceindex.MATCH_DISTANCE < faceindex.face_distance(obama, biden)
    assert faceindex.face_similarity(obama, obama2) >= 80 > faceindex.face_similarity(obama, biden)
    compared = faceindex.compare_faces(
        testdata / "faces/obama/1.jpg", testdata / "faces/obama/2.jpg", 0.0, engine=engine
    )
    assert faceindex.face_similarity(obama, obama2) == pytest.approx(compared.FaceMatches[0].Similarity, abs=1e-4)
    assert faceindex.face_distance(list(obama), tuple(obama2)) == pytest.approx(faceindex.face_distance(obama, obama2))


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (np.zeros(128), np.zeros(127), "different lengths"),
        (np.zeros((2, 128)), np.zeros(128), "one vector"),
        (np.full(128, np.nan), np.zeros(128), "NaN"),
        ("not a descriptor", np.zeros(128), "not an array of numbers"),
    ],
)
def test_face_distance_refuses_what_is_not_a_descriptor(a: object, b: object, message: str) -> None:
    with pytest.raises(faceindex.InvalidParameter, match=message):
        faceindex.face_distance(a, b)  # type: ignore[arg-type]
