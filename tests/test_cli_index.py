"""`faceindex index` tells the truth: what it skips, what kept no face, and one JSON line for every photo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.test_cli_collections import faceindex


def _lines(stdout: str) -> dict[str, dict[str, object]]:
    """The --json lines by file name (one line per photo, whatever became of it)."""
    lines = [json.loads(line) for line in stdout.splitlines()]
    by_name = {Path(str(line["Image"])).name: line for line in lines}
    assert len(by_name) == len(lines), "one line per photo"
    return by_name


def _photos(testdata: Path, folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(testdata / "faces/biden/1.jpg", folder / "biden.jpg")  # one face that passes AUTO
    shutil.copy(testdata / "crowd/1.jpg", folder / "crowd.jpg")  # 44 small faces: AUTO keeps none
    Image.fromarray(np.full((200, 200, 3), 200, np.uint8)).save(folder / "blank.png")  # no face at all
    return folder


def test_only_photos_whose_faces_are_stored_are_skipped(testdata: Path, cache: Path, tmp_path: Path) -> None:
    data, photos = tmp_path / "data", _photos(testdata, tmp_path / "photos")
    assert faceindex(["collection", "create", "people"], cache, data).returncode == 0

    first = faceindex(["index", "--collection", "people", str(photos)], cache, data)
    assert first.returncode == 0, first.stderr
    assert "indexed 1 face from 1 photo;" in first.stdout
    # the summary names the photos that gave no face, and says why
    assert "no face indexed from 2 photos (1 with no face found, 1 whose faces were all left out)" in first.stdout
    assert str(photos / "blank.png") in first.stdout and str(photos / "crowd.jpg") in first.stdout
    assert "SMALL_BOUNDING_BOX" in first.stdout

    # a re-run with another quality bar reads the photos that kept no face (they were "already indexed")
    keep_all = faceindex(
        ["index", "--collection", "people", "--quality-filter", "NONE", "--json", str(photos)], cache, data
    )
    assert keep_all.returncode == 0, keep_all.stderr
    lines = _lines(keep_all.stdout)
    assert lines["biden.jpg"]["Status"] == "SKIPPED" and lines["biden.jpg"]["FaceIds"] == []
    assert lines["crowd.jpg"]["Status"] == "INDEXED" and len(lines["crowd.jpg"]["FaceIds"]) > 20  # type: ignore[arg-type]
    assert lines["blank.png"]["Status"] == "NO_FACE"

    # after `faces delete` the photo can be indexed again
    listed = json.loads(faceindex(["faces", "list", "--collection", "people", "--json"], cache, data).stdout)
    biden = [f["FaceId"] for f in listed["Faces"] if f["ExternalImageId"] == "biden.jpg"]
    assert faceindex(["faces", "delete", *biden, "--collection", "people"], cache, data).returncode == 0
    again = _lines(faceindex(["index", "--collection", "people", "--json", str(photos)], cache, data).stdout)
    assert again["biden.jpg"]["Status"] == "INDEXED" and again["crowd.jpg"]["Status"] == "SKIPPED"

    # --force reads every photo again
    forced = faceindex(["index", "--collection", "people", "--force", "--json", str(photos / "biden.jpg")], cache, data)
    assert _lines(forced.stdout)["biden.jpg"]["Status"] == "INDEXED"


def test_json_has_a_line_for_skipped_and_failed_photos(testdata: Path, cache: Path, tmp_path: Path) -> None:
    data, photos = tmp_path / "data", tmp_path / "photos"
    photos.mkdir()
    shutil.copy(testdata / "faces/biden/2.jpg", photos / "face.jpg")
    shutil.copy(testdata / "edge/corrupt/truncated_jpeg.jpg", photos / "broken.jpg")
    assert faceindex(["collection", "create", "people"], cache, data).returncode == 0
    assert faceindex(["index", "--collection", "people", str(photos / "face.jpg")], cache, data).returncode == 0

    result = faceindex(["index", "--collection", "people", "--json", str(photos)], cache, data)
    assert result.returncode == 2  # a photo could not be read: bad input, as for `detect`
    lines = _lines(result.stdout)
    assert lines["face.jpg"]["Status"] == "SKIPPED"
    assert lines["broken.jpg"]["Status"] == "FAILED"
    assert lines["broken.jpg"]["Error"]["Code"] == "InvalidImageFormatException"  # type: ignore[index]
    assert "indexed 0 faces from 0 photos; 1 skipped (faces already stored), 1 failed" in result.stderr


def test_a_run_that_finds_no_face_exits_1(cache: Path, tmp_path: Path) -> None:
    data, blank = tmp_path / "data", tmp_path / "blank.png"
    Image.fromarray(np.full((120, 120, 3), 90, np.uint8)).save(blank)
    assert faceindex(["collection", "create", "people"], cache, data).returncode == 0
    result = faceindex(["index", "--collection", "people", str(blank)], cache, data)
    assert result.returncode == 1, result.stderr
    assert "no face indexed from 1 photo (1 with no face found, 0 whose faces were all left out)" in result.stdout
