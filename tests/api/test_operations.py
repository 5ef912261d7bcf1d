"""Health, readiness, metrics, logs, overload and shutdown of a live server."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.live import LiveServer, start_server


def test_health_ready_and_metrics(server: LiveServer, rekognition: Any, testdata: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        rekognition.create_collection(CollectionId="metrics-c")
        rekognition.index_faces(
            CollectionId="metrics-c", Image={"Bytes": (testdata / "faces/biden/1.jpg").read_bytes()}
        )
        text = client.get("/metrics").text
    assert "faceindex_faces " in text and "metrics-c" not in text  # totals; names only when asked
    assert 'faceindex_requests_total{api="rekognition",operation="IndexFaces",outcome="ok"}' in text
    assert 'faceindex_request_duration_seconds_count{api="rekognition",operation="IndexFaces"}' in text
    rekognition.delete_collection(CollectionId="metrics-c")


def test_logs_name_requests_but_hold_no_image_or_descriptor(
    server: LiveServer, rekognition: Any, testdata: Path
) -> None:
    photo = (testdata / "faces/obama/5.jpg").read_bytes()
    request_id = rekognition.detect_faces(Image={"Bytes": photo})["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 30  # the access-log line is written just after the response is sent
    while True:
        lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        detects = [line for line in lines if line.get("request_id") == request_id]
        if detects or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert detects and detects[0]["operation"] == "DetectFaces" and detects[0]["outcome"] == "ok"
    assert {"request_id", "duration_ms", "status", "access_key"} <= set(detects[0])
    log = server.log()
    encoded = base64.b64encode(photo).decode()
    assert encoded[1000:1100] not in log and "Bytes" not in log
    assert "descriptor" not in log.lower() and "SecretAccessKey" not in log


def test_overload_answers_throttling_not_collapse(tmp_path: Path, cache: Path, testdata: Path) -> None:
    live = start_server(tmp_path / "data", cache, {"FACEINDEX_MAX_IN_FLIGHT": "1", "FACEINDEX_MAX_WAITING": "1"})
    try:
        client = live.client(live.new_key())
        photo = (testdata / "crowd").glob("*")
        image = {"Bytes": next(p for p in sorted(photo) if p.suffix.lower() in (".jpg", ".jpeg", ".png")).read_bytes()}
        outcomes: list[str] = []

        def call() -> None:
            try:
                client.detect_faces(Image=image)
                outcomes.append("ok")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert "ok" in outcomes and "ThrottlingException" in outcomes
        assert set(outcomes) <= {"ok", "ThrottlingException"}
        assert httpx.get(f"{live.url}/readyz").status_code == 200
    finally:
        assert live.stop() in (0, -signal.SIGTERM)


def test_graceful_shutdown_finishes_requests_and_saves_indexes(tmp_path: Path, cache: Path, testdata: Path) -> None:
    live = start_server(tmp_path / "data", cache, {"FACEINDEX_VECTOR_INDEX": "hnsw"})
    client = live.client(live.new_key())
    client.create_collection(CollectionId="kept")
    client.index_faces(CollectionId="kept", Image={"Bytes": (testdata / "faces/obama/1.jpg").read_bytes()})
    client.search_faces_by_image(CollectionId="kept", Image={"Bytes": (testdata / "faces/obama/2.jpg").read_bytes()})
    result: dict[str, Any] = {}

    def slow_call() -> None:
        result["faces"] = client.detect_faces(Image={"Bytes": (testdata / "multi/obama_and_biden.jpg").read_bytes()})

    thread = threading.Thread(target=slow_call)
    thread.start()
    threading.Event().wait(0.05)
    assert live.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
    thread.join()
    assert len(result["faces"]["FaceDetails"]) >= 2  # the request in flight was answered
    snapshots = list((live.data_dir / "indexes").glob("*.hnsw.json"))
    assert snapshots and json.loads(snapshots[0].read_text())["size"] == 1
    assert '"message": "stopped"' in live.log()


def test_no_auth_only_on_loopback(tmp_path: Path, cache: Path) -> None:
    env = {"FACEINDEX_DATA_DIR": str(tmp_path / "d"), "XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin"}
    refused = subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", "serve", "--no-auth", "--host", "0.0.0.0"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "loopback" in refused.stderr


@pytest.mark.parametrize("value", ["-1", "many"])
def test_bad_settings_are_refused_with_a_message(tmp_path: Path, value: str) -> None:
    env = {"FACEINDEX_DATA_DIR": str(tmp_path / "d"), "FACEINDEX_MAX_IN_FLIGHT": value, "PATH": "/usr/bin:/bin"}
    refused = subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", "serve"], capture_output=True, text=True, env=env, timeout=120
    )
    assert refused.returncode == 2 and "FACEINDEX_MAX_IN_FLIGHT" in refused.stderr and "Traceback" not in refused.stderr
