"""/metrics names no collection unless asked (a name can say whose faces it holds), and can
require an access key."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from tests.api.live import LiveServer, start_server

NAME = "family-of-jane-doe"


def _index_one(client: Any, testdata: Path) -> None:
    client.create_collection(CollectionId=NAME)
    client.index_faces(CollectionId=NAME, Image={"Bytes": (testdata / "faces/biden/1.jpg").read_bytes()})


def test_metrics_name_no_collection_by_default(server: LiveServer, rekognition: Any, testdata: Path) -> None:
    _index_one(rekognition, testdata)
    try:
        text = httpx.get(f"{server.url}/metrics", timeout=30).text  # no key needed by default
    finally:
        rekognition.delete_collection(CollectionId=NAME)
    assert NAME not in text and "faceindex_collection_faces" not in text
    faces = [line for line in text.splitlines() if line.startswith("faceindex_faces ")]
    assert faces and float(faces[0].split()[1]) >= 1  # the total is still there
    assert "faceindex_collections " in text


def test_metrics_can_require_a_key_and_name_collections(tmp_path: Path, cache: Path, testdata: Path) -> None:
    live = start_server(
        tmp_path / "data", cache, {"FACEINDEX_METRICS_AUTH": "key", "FACEINDEX_METRICS_COLLECTIONS": "true"}
    )
    try:
        key = live.new_key("DetectFaces")  # any active key may read the metrics
        _index_one(live.client(live.new_key()), testdata)
        with httpx.Client(base_url=live.url, timeout=30) as client:
            anonymous = client.get("/metrics")
            wrong = client.get("/metrics", auth=(key[0], "not-the-secret"))
            allowed = client.get("/metrics", auth=key)
    finally:
        assert live.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
    assert NAME not in anonymous.text and "faceindex_" not in anonymous.text
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert f'faceindex_collection_faces{{collection="{NAME}"}} 1.0' in allowed.text


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"FACEINDEX_METRICS_AUTH": "sometimes"}, "FACEINDEX_METRICS_AUTH"),
        ({"FACEINDEX_METRICS_AUTH": "key", "FACEINDEX_AUTH": "none"}, "FACEINDEX_METRICS_AUTH"),
        ({"FACEINDEX_METRICS_COLLECTIONS": "maybe"}, "FACEINDEX_METRICS_COLLECTIONS"),
    ],
)
def test_metrics_settings_are_checked(environ: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidParameter, match=named):
        Settings.from_env(environ)
