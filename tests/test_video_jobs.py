"""Stored-video jobs through the service door on the fake engine: Start's checks, quota and 7-day tokens,
Get's paging and sorting, tracked persons matched or not, failures with a StatusMessage, recovery of a
dead worker's job, expiry; and the CLI's in-process job with the real models. (A live server:
tests/api/test_video_jobs.py.)"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from faceindex.config import Settings
from faceindex.errors import FaceIndexError
from faceindex.models.fake import FakeEngine, draw_faces
from faceindex.service import jobs
from faceindex.service import video as video_service
from faceindex.service.container import Services, open_services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke
from faceindex.store.records import JobResult

# colours in the middle of the fake engine's colour bins, so compression does not move them to another
RED, BLUE = (208, 48, 48), (48, 80, 208)
SIZE, FPS, SECONDS = (320, 240), 10, 2


def _clip(path: Path, second_face: bool = True) -> Path:
    """RED moving right for the whole clip; BLUE in the second half only."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, SIZE)
    for k in range(FPS * SECONDS):
        frame = np.full((SIZE[1], SIZE[0], 3), 235, np.uint8)
        left = 20 + 2 * k
        frame[60:130, left : left + 70] = RED
        if second_face and k >= FPS * SECONDS // 2:
            frame[100:170, 220:290] = BLUE
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    folder = tmp_path / "bucket"
    folder.mkdir()
    _clip(folder / "clip.avi")
    (folder / "notes.avi").write_bytes(b"this is not a video at all" * 10)
    return folder


def _services(tmp_path: Path, bucket: Path, store: str = "memory", **changes: Any) -> Services:
    settings = Settings(data_dir=tmp_path / "data", model_cache=tmp_path / "models", auth="none")
    settings = dataclasses.replace(settings, buckets=f"videos={bucket}", **changes)
    return open_services(settings, FakeEngine(settings), store=store)


@pytest.fixture
def services(tmp_path: Path, bucket: Path) -> Iterator[Services]:
    opened = _services(tmp_path, bucket)
    yield opened
    opened.close()


def call(services: Services, name: str, **params: Any) -> Any:
    return invoke(services, operator(), name, params).result


def video(name: str = "clip.avi") -> dict[str, Any]:
    return {"S3Object": {"Bucket": "videos", "Name": name}}


def run(services: Services, job_id: str) -> str:
    return jobs.run_one(services, job_id)


def test_face_detection_pages_every_face_at_source_timestamps(services: Services) -> None:
    job_id = call(services, "StartFaceDetection", Video=video(), JobTag="t-1")["JobId"]
    waiting = call(services, "GetFaceDetection", JobId=job_id)
    assert waiting["JobStatus"] == "IN_PROGRESS" and waiting["Faces"] == [] and waiting["JobTag"] == "t-1"
    assert run(services, job_id) == "SUCCEEDED"
    answer = call(services, "GetFaceDetection", JobId=job_id)
    assert answer["JobStatus"] == "SUCCEEDED" and answer["Video"] == video() and "NextToken" not in answer
    meta = answer["VideoMetadata"]
    assert (meta["FrameWidth"], meta["FrameHeight"], meta["DurationMillis"]) == (320, 240, 2000)
    assert meta["Codec"] == "mjpeg" and meta["ColorRange"] == "FULL"
    stamps = [face["Timestamp"] for face in answer["Faces"]]
    # 5 a second of a 10 fps clip: every other frame, 0..1800 ms; RED on all 10, BLUE on the last 5
    assert sorted(set(stamps)) == list(range(0, 2000, 200)) and len(stamps) == 15 and stamps == sorted(stamps)
    pages, token = [], None
    while True:
        page = call(services, "GetFaceDetection", JobId=job_id, MaxResults=4, NextToken=token)
        pages.append(page["Faces"])
        token = page.get("NextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [4, 4, 4, 3] and [f for p in pages for f in p] == answer["Faces"]
    with pytest.raises(FaceIndexError, match="pagination token"):
        call(services, "GetFaceDetection", JobId=job_id, NextToken="garbage")


def test_face_search_tracks_persons_and_lists_the_unmatched(services: Services) -> None:
    call(services, "CreateCollection", CollectionId="people")
    call(services, "IndexFaces", CollectionId="people", Image={"Bytes": draw_faces([RED])}, ExternalImageId="red")
    job_id = call(services, "StartFaceSearch", Video=video(), CollectionId="people")["JobId"]
    assert run(services, job_id) == "SUCCEEDED"
    persons = call(services, "GetFaceSearch", JobId=job_id)["Persons"]
    assert [p["Timestamp"] for p in persons] == sorted(p["Timestamp"] for p in persons)
    by_index: dict[int, list[dict[str, Any]]] = {}
    for entry in persons:
        by_index.setdefault(entry["Person"]["Index"], []).append(entry)
    assert sorted(by_index) == [0, 1]  # RED from the start is 0, BLUE later is 1, each one person throughout
    assert len(by_index[0]) == 10 and len(by_index[1]) == 5
    assert all(e["FaceMatches"][0]["Face"]["ExternalImageId"] == "red" for e in by_index[0])
    assert all(e["FaceMatches"][0]["Similarity"] >= 80 for e in by_index[0])
    assert all(e["FaceMatches"] == [] for e in by_index[1])  # listed without a match
    assert all(e["Person"]["BoundingBox"] == e["Person"]["Face"]["BoundingBox"] for e in persons)
    indexed = call(services, "GetFaceSearch", JobId=job_id, SortBy="INDEX")["Persons"]
    assert [e["Person"]["Index"] for e in indexed] == [0] * 10 + [1] * 5
    with pytest.raises(FaceIndexError, match="no StartFaceDetection job"):
        call(services, "GetFaceDetection", JobId=job_id)  # a search job is no detection job


def test_start_checks_the_object_the_collection_and_the_channel(services: Services) -> None:
    def refused(name: str, **params: Any) -> str:
        with pytest.raises(FaceIndexError) as caught:
            call(services, name, **params)
        return caught.value.code

    assert refused("StartFaceDetection", Video=video("absent.mp4")) == "InvalidS3ObjectException"
    bucket = services.settings.bucket_folders()["videos"]
    (bucket.parent / "outside.avi").write_bytes((bucket / "clip.avi").read_bytes())
    assert refused("StartFaceDetection", Video=video("../outside.avi")) == "InvalidS3ObjectException"  # no escape
    assert refused("StartFaceSearch", Video=video(), CollectionId="nobody") == "ResourceNotFoundException"
    channel = {"SNSTopicArn": "arn:aws:sns:us-east-1:000000000000:jobs", "RoleArn": "arn:aws:iam::000000000000:role/r"}
    assert refused("StartFaceDetection", Video=video(), NotificationChannel=channel) == "InvalidParameterException"
    assert refused("GetFaceDetection", JobId="0" * 64) == "ResourceNotFoundException"


def test_a_file_that_is_not_a_video_fails_the_job_with_a_status_message(services: Services) -> None:
    job_id = call(services, "StartFaceDetection", Video=video("notes.avi"))["JobId"]
    assert run(services, job_id) == "FAILED"
    answer = call(services, "GetFaceDetection", JobId=job_id)
    assert answer["JobStatus"] == "FAILED" and "not a video" in answer["StatusMessage"] and answer["Faces"] == []


def test_quota_and_seven_day_tokens(tmp_path: Path, bucket: Path) -> None:
    services = _services(tmp_path, bucket, video_max_jobs=2)
    try:
        first = call(services, "StartFaceDetection", Video=video(), ClientRequestToken="tok")["JobId"]
        assert call(services, "StartFaceDetection", Video=video(), ClientRequestToken="tok")["JobId"] == first
        with pytest.raises(FaceIndexError) as caught:
            call(services, "StartFaceDetection", Video=video(), ClientRequestToken="tok", JobTag="other")
        assert caught.value.code == "IdempotentParameterMismatchException"
        call(services, "StartFaceDetection", Video=video())
        with pytest.raises(FaceIndexError) as caught:
            call(services, "StartFaceDetection", Video=video())
        assert caught.value.code == "LimitExceededException"  # no queue past the quota
        # a token is the same job after 2 days (the door's other tokens last 24 h) ...
        job = services.store.job(first)
        assert job is not None
        services.store._jobs[first] = dataclasses.replace(job, created_at=time.time() - 2 * 86400)  # type: ignore[attr-defined]
        assert call(services, "StartFaceDetection", Video=video(), ClientRequestToken="tok")["JobId"] == first
        assert run(services, first) == "SUCCEEDED"  # and a finished job frees its place
        assert call(services, "StartFaceDetection", Video=video())["JobId"] != first
    finally:
        services.close()


def test_a_dead_workers_job_is_retried_once_then_failed_and_results_expire(tmp_path: Path, bucket: Path) -> None:
    services = _services(tmp_path, bucket, store="sqlite")
    try:
        job_id = call(services, "StartFaceDetection", Video=video())["JobId"]
        dead = "somehost:1:x"  # another host's worker: only its heartbeat tells
        claimed = services.store.claim_job(dead, time.time() - 600)
        assert claimed is not None and claimed.attempts == 1
        assert jobs.recover(services) == [job_id]  # stale heartbeat: queued again
        again = services.store.claim_job(dead, time.time() - 600)
        assert again is not None and again.attempts == 2
        assert jobs.recover(services) == [job_id]
        failed = call(services, "GetFaceDetection", JobId=job_id)
        assert failed["JobStatus"] == "FAILED" and "interrupted 2 times" in failed["StatusMessage"]
        assert jobs.recover(services) == []
        # a live worker's fresh heartbeat is left alone
        other = call(services, "StartFaceDetection", Video=video())["JobId"]
        assert services.store.claim_job(dead, time.time()) is not None
        assert jobs.recover(services) == [] and services.store.job(other) is not None
        assert services.store.expire_jobs(time.time() + 6 * 86400) == 0
        assert services.store.expire_jobs(time.time() + 8 * 86400) == 1  # the failed one, after 7 days
        with pytest.raises(FaceIndexError, match="no StartFaceDetection job"):
            call(services, "GetFaceDetection", JobId=job_id)
    finally:
        services.close()


def test_the_pool_runs_queued_jobs_and_puts_them_back_when_stopped(tmp_path: Path, bucket: Path) -> None:
    services = _services(tmp_path, bucket, store="sqlite", video_workers=2)
    pool = jobs.WorkerPool(services)
    try:
        ids = [call(services, "StartFaceDetection", Video=video())["JobId"] for _ in range(3)]
        pool.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = [call(services, "GetFaceDetection", JobId=i, MaxResults=1)["JobStatus"] for i in ids]
            if all(s == "SUCCEEDED" for s in statuses):
                break
            time.sleep(0.2)
        assert statuses == ["SUCCEEDED"] * 3
        request = json.loads(services.store.job(ids[0]).request)  # type: ignore[union-attr]
        assert "ClientRequestToken" not in request and request["Video"] == video()
    finally:
        pool.stop()
        services.close()


def _cli(args: list[str], cache: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "FACEINDEX_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_the_cli_runs_a_search_job_in_process_with_real_models(testdata: Path, cache: Path, tmp_path: Path) -> None:
    data, faces = tmp_path / "data", testdata / "faces"
    assert _cli(["collection", "create", "hamilton"], cache, data).returncode == 0
    indexed = _cli(["index", "--collection", "hamilton", str(faces / "lin_manuel_miranda")], cache, data)
    assert indexed.returncode == 0, indexed.stderr
    clip = str(testdata / "video/short_hamilton_clip.mp4")
    done = _cli(["video", "search", clip, "--collection", "hamilton", "--json"], cache, data)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["JobStatus"] == "SUCCEEDED" and "NextToken" not in answer
    matched = {p["Person"]["Index"] for p in answer["Persons"] if p["FaceMatches"]}
    assert len(matched) == 1  # Lin-Manuel Miranda, on stage the whole clip: one person
    assert answer["VideoMetadata"]["DurationMillis"] == 9176
    table = _cli(["video", "detect", clip], cache, data)
    assert table.returncode == 0 and "640x360 h264, 9176 ms" in table.stdout and "100%" in table.stderr
    failed = _cli(["video", "detect", str(faces / "obama/1.jpg")], cache, data)
    assert failed.returncode == 2 and "FAILED" in failed.stderr and "not a video" in failed.stderr


def test_documented_defaults_maxresults_1000_and_threshold_80(services: Services, monkeypatch: Any) -> None:
    """Get*'s MaxResults defaults to and is capped at 1000; StartFaceSearch's FaceMatchThreshold is 80."""
    job_id = call(services, "StartFaceDetection", Video=video())["JobId"]
    claimed = services.store.claim_job("w", time.time(), job_id=job_id)
    assert claimed is not None
    many = [JobResult(t, 0, json.dumps({"Timestamp": t, "Face": {}})) for t in range(1001)]
    assert services.store.finish_job(job_id, "w", "SUCCEEDED", None, many, time.time(), time.time() + 60)
    for most in (None, 1001, 5000):
        page = call(services, "GetFaceDetection", JobId=job_id, MaxResults=most)
        assert len(page["Faces"]) == 1000 and "NextToken" in page
    assert len(call(services, "GetFaceDetection", JobId=job_id, MaxResults=999)["Faces"]) == 999
    rest = call(services, "GetFaceDetection", JobId=job_id, NextToken=page["NextToken"])
    assert [f["Timestamp"] for f in rest["Faces"]] == [1000] and "NextToken" not in rest

    asked: list[float] = []

    def nearest(*args: Any) -> list[Any]:
        asked.append(args[4])
        return []

    monkeypatch.setattr(video_service, "nearest_faces", nearest)
    call(services, "CreateCollection", CollectionId="c")
    for threshold, used in ((None, 80.0), (79.0, 79.0), (81.0, 81.0), (0.0, 0.0)):
        asked.clear()
        search = call(services, "StartFaceSearch", Video=video(), CollectionId="c", FaceMatchThreshold=threshold)
        assert run(services, search["JobId"]) == "SUCCEEDED"
        assert asked == [used, used]  # each of the two persons searched at it


def test_a_stored_object_is_staged_privately_and_removed(tmp_path: Path, monkeypatch: Any) -> None:
    from faceindex.imaging import sources

    class Store:
        def download_fileobj(self, bucket: str, key: str, out: Any, ExtraArgs: Any = None) -> None:
            out.write(b"video bytes")

        def head_object(self, Bucket: str, Key: str) -> dict[str, int]:
            return {"ContentLength": 11 * 1024**3}

    monkeypatch.setattr(sources, "_client", lambda settings: Store())
    settings = dataclasses.replace(Settings(data_dir=tmp_path), s3_endpoint="http://127.0.0.1:1")
    location = {"S3Object": {"Bucket": "b", "Name": "k.mp4"}}
    with sources.video_file(location, settings) as path:
        assert path.read_bytes() == b"video bytes"
        assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert not path.exists() and not path.parent.exists()
    with pytest.raises(FaceIndexError) as caught:
        sources.check_video(location, settings, 10 * 1024**3)
    assert caught.value.code == "VideoTooLargeException"  # at Start, from the object's size alone
