"""The `faceindex` command as a user runs it: real process, real models, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def run(args: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_detect_json_and_draw(testdata: Path, cache: Path, tmp_path: Path) -> None:
    drawing = tmp_path / "out.png"
    result = run(["detect", str(testdata / "multi/obama_and_biden.jpg"), "--json", "--draw", str(drawing)], cache)
    assert result.returncode == 0, result.stderr
    (body,) = [json.loads(line) for line in result.stdout.splitlines()]  # one JSON line per image
    assert body["Image"] == str(testdata / "multi/obama_and_biden.jpg")
    assert len(body["FaceDetails"]) >= 2
    assert {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"} <= set(body["FaceDetails"][0])
    with Image.open(drawing) as image:
        assert image.size == Image.open(testdata / "multi/obama_and_biden.jpg").size


def test_detect_json_has_one_shape_for_one_or_many_files(testdata: Path, cache: Path) -> None:
    photos = [str(testdata / "faces/biden/1.jpg"), str(testdata / "edge/corrupt/truncated_jpeg.jpg")]
    one = [json.loads(line) for line in run(["detect", photos[0], "--json"], cache).stdout.splitlines()]
    many = run(["detect", *photos, "--json"], cache)
    assert many.returncode == 2  # one file could not be read: bad input, whatever the others gave
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [set(line) for line in one] == [{"Image", "FaceDetails"}]
    assert [set(line) for line in lines] == [{"Image", "FaceDetails"}, {"Image", "Error"}]
    assert lines[0] == one[0] and lines[1]["Error"]["Code"] == "InvalidImageFormatException"


def test_detect_takes_folders_and_draws_every_image(testdata: Path, cache: Path, tmp_path: Path) -> None:
    drawings = tmp_path / "drawings"
    result = run(["detect", str(testdata / "multi"), "--draw", str(drawings)], cache)
    assert result.returncode == 0, result.stderr
    sources = sorted((testdata / "multi").glob("*.jpg"))
    assert result.stdout.count(" faces (") == len(sources)
    assert sorted(p.name for p in drawings.iterdir()) == sorted(f"{p.stem}.png" for p in sources)
    for source in sources:
        with Image.open(drawings / f"{source.stem}.png") as drawn, Image.open(source) as original:
            assert drawn.size == original.size


def test_draw_refuses_a_bad_extension_before_reading_any_image(testdata: Path, cache: Path, tmp_path: Path) -> None:
    photos = [str(testdata / "edge/corrupt/truncated_jpeg.jpg"), str(testdata / "faces/biden/1.jpg")]
    result = run(["detect", *photos, "--draw", str(tmp_path / "out.gif")], cache)
    assert result.returncode == 2
    assert "--draw" in result.stderr and ".png" in result.stderr
    assert "InvalidImageFormatException" not in result.stderr and result.stdout == ""  # no image was read
    one_file_for_two = run(["detect", *photos, "--draw", str(tmp_path / "out.png")], cache)
    assert one_file_for_two.returncode == 2 and "give a folder" in one_file_for_two.stderr


def test_detect_table_for_many_files(testdata: Path, cache: Path) -> None:
    result = run(["detect", str(testdata / "faces/biden/1.jpg"), str(testdata / "faces/biden/2.jpg")], cache)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("1 face ") == 2
    assert "confidence" in result.stdout
    assert "XNNPACK" not in result.stderr  # LiteRT's INFO line stays silenced


def test_exit_codes_tell_no_face_and_bad_input_apart(testdata: Path, cache: Path, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 200, np.uint8)).save(blank)
    no_face = run(["detect", str(blank)], cache)
    assert no_face.returncode == 1
    assert "0 faces" in no_face.stdout

    corrupt = run(["detect", str(testdata / "edge/corrupt/truncated_jpeg.jpg")], cache)
    assert corrupt.returncode == 2
    assert "InvalidImageFormatException" in corrupt.stderr
    assert "Traceback" not in corrupt.stderr

    missing = run(["compare", str(tmp_path / "nope.jpg"), str(blank)], cache)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr and "Traceback" not in missing.stderr

    source_without_face = run(["compare", str(blank), str(testdata / "faces/obama/1.jpg")], cache)
    assert source_without_face.returncode == 2
    assert "no faces in the source image" in source_without_face.stderr


def test_compare(testdata: Path, cache: Path) -> None:
    same = run(["compare", str(testdata / "faces/obama/1.jpg"), str(testdata / "faces/obama/2.jpg"), "--json"], cache)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["FaceMatches"][0]["Similarity"] >= 80
    other = run(["compare", str(testdata / "faces/obama/1.jpg"), str(testdata / "faces/biden/1.jpg")], cache)
    assert other.returncode == 1
    assert re.search(r"below 80\s+\d+\.\d\d\s", other.stdout), other.stdout  # the unmatched face's score


def test_models_info(cache: Path) -> None:
    result = run(["models", "info"], cache)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.split() and "(onnx)" not in line}
    for default in ("resnet", "mmod", "shape5", "blazeface", "facemesh"):  # the weights used by default
        assert "public domain" in rows[default] or "Apache-2.0" in rows[default], rows[default]
    assert "opt-in" in rows["shape68"] and "commercial" in rows["shape68"]  # the one that is not free to use
    assert "face_detection_full_range.tflite" in result.stdout and "face_landmark.tflite" in result.stdout
