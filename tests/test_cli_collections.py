"""`faceindex index|search|faces|users|collection` as a user runs them, including kill -9 mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faceindex.config import Settings
from faceindex.pipeline import FaceEngine
from faceindex.service.container import open_services


def _env(cache: Path, data: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache), "FACEINDEX_DATA_DIR": str(data)}


def faceindex(args: list[str], cache: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", *args],
        capture_output=True,
        text=True,
        env=_env(cache, data),
        timeout=600,
    )


def test_index_search_and_manage_from_the_command_line(testdata: Path, cache: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert faceindex(["collection", "create", "people"], cache, data).returncode == 0
    indexed = faceindex(["index", "--collection", "people", str(testdata / "faces")], cache, data)
    assert indexed.returncode == 0, indexed.stderr
    assert "skipped (faces already stored)" in indexed.stdout
    again = faceindex(["index", "--collection", "people", str(testdata / "faces")], cache, data)
    assert "indexed 0 faces from 0 photos" in again.stdout  # a re-run skips what is indexed

    found = faceindex(
        ["search", "--collection", "people", str(testdata / "multi/kit_with_rose.jpg"), "--json"], cache, data
    )
    assert found.returncode == 0, found.stderr
    external_ids = {m["Face"]["ExternalImageId"] for m in json.loads(found.stdout)["FaceMatches"]}
    assert external_ids and all(e.startswith(("kit_harington:", "rose_leslie:")) for e in external_ids)

    listed = json.loads(faceindex(["faces", "list", "--collection", "people", "--json"], cache, data).stdout)
    face_id = listed["Faces"][0]["FaceId"]
    assert faceindex(["users", "create", "someone", "--collection", "people"], cache, data).returncode == 0
    associated = faceindex(["users", "associate", "someone", face_id, "--collection", "people", "--json"], cache, data)
    assert json.loads(associated.stdout)["AssociatedFaces"] == [{"FaceId": face_id}]
    described = json.loads(faceindex(["collection", "describe", "people", "--json"], cache, data).stdout)
    assert described["UserCount"] == 1 and described["FaceCount"] == len(listed["Faces"])

    missing = faceindex(["search", "--collection", "nobody", str(testdata / "faces/obama/1.jpg")], cache, data)
    assert missing.returncode == 2 and "ResourceNotFoundException" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert faceindex(["collection", "delete", "people"], cache, data).returncode == 0
    assert "people" not in faceindex(["collection", "list"], cache, data).stdout


@pytest.mark.slow
def test_kill_9_mid_index_loses_nothing_and_a_rerun_completes(
    testdata: Path,
    cache: Path,
    tmp_path: Path,
    engine: FaceEngine,
) -> None:
    data = tmp_path / "data"
    photos = tmp_path / "photos"
    photos.mkdir()
    sources = sorted((testdata / "faces").rglob("*.jp*g")) + sorted((testdata / "resolution").glob("*.jpg"))
    for n in range(4):  # 4 copies with different bytes: ~80 images, a run of several seconds
        for i, src in enumerate(sources):
            (photos / f"{n}_{i}_{src.name}").write_bytes(src.read_bytes() + bytes([n]))
    assert faceindex(["collection", "create", "people"], cache, data).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "faceindex.cli.main", "index", "--collection", "people", "--json", str(photos)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(cache, data),
    )
    assert process.stdout is not None
    reported: list[str] = []
    deadline = time.monotonic() + 300
    while len(reported) < 10 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        reported += json.loads(line)["FaceIds"]
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(reported) >= 10, "the run ended before it could be killed"

    settings = Settings(model_cache=engine.settings.model_cache, data_dir=data)
    services = open_services(settings, engine)
    collection = services.store.collection("people")
    stored = {f.face_id for f in services.store.list_faces(collection, 0, 100_000)}
    assert set(reported) <= stored  # every FaceId it reported survived kill -9
    index = services.indexes.get(collection)
    keys = services.store.descriptors(collection)[1]
    assert len(index) == len(keys) and all(int(k) in index for k in keys)  # index agrees with the database
    before = len(stored)
    services.close()

    rerun = faceindex(["index", "--collection", "people", str(photos)], cache, data)
    assert rerun.returncode == 0, rerun.stderr
    assert faceindex(["collection", "create", "reference"], cache, data).returncode == 0
    assert faceindex(["index", "--collection", "reference", str(photos)], cache, data).returncode == 0
    services = open_services(settings, engine)
    per_image = {}
    for name in ("people", "reference"):
        faces = services.store.list_faces(services.store.collection(name), 0, 100_000)
        per_image[name] = sorted(f.external_image_id or "" for f in faces)
    services.close()
    # the re-run indexed the rest, and no image twice: the same faces as one uninterrupted run
    assert per_image["people"] == per_image["reference"]
    assert len(per_image["people"]) > before
