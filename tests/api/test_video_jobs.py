"""Stored-video jobs on a live server with unmodified boto3 and the AWS CLI (issue 14): the shared clips and
clips made here (MPEG-4 in MP4, Motion JPEG in AVI, a phone's rotated MP4, a file that is not a video),
from bucket folders and from an S3-compatible store; every response checked against botocore's output
shape; the REST API; paging, sorting, quota, idempotency, errors, SNS notifications received through an SQS queue
(moto's server on loopback), and a server killed with SIGKILL mid-job."""

from __future__ import annotations

import itertools
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import cv2
import httpx
import numpy as np
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from faceindex.api.rekognition.model import operation
from faceindex.imaging.video import open_video
from faceindex.jsonable import to_jsonable
from tests.api.live import REGION, LiveServer, free_port, start_server
from tests.api.shapes import shape_errors

ACCOUNT = "123456789012"  # moto's
ROLE = f"arn:aws:iam::{ACCOUNT}:role/rekognition-sns"
CLIP_SIZE, CLIP_FPS, CLIP_FRAMES = (320, 240), 10, 20  # 2 s


def _made_clip(photo: Path, path: Path, fourcc: str, portrait: bool = False) -> Path:
    """One face panning slowly for 2 s; `portrait`: filmed upright and stored landscape, as phones do
    (the frames turned a quarter counter-clockwise; `_rotated` adds the display matrix that turns them back)."""
    width, height = CLIP_SIZE
    image = cv2.resize(cv2.imread(str(photo)), (height, width) if portrait else CLIP_SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), CLIP_FPS, CLIP_SIZE)
    for k in range(CLIP_FRAMES):
        frame = np.roll(image, k, axis=1)
        writer.write(cv2.rotate(frame, cv2.ROTATE_90_COUNTERCLOCKWISE) if portrait else frame)
    writer.release()
    return path


def _rotated(source: Path, target: Path) -> Path:
    """The MP4 with a phone's portrait display matrix in tkhd (a quarter turn clockwise)."""
    data = bytearray(source.read_bytes())
    body = data.index(b"tkhd") + 4
    matrix = body + 4 + (32 if data[body] == 1 else 20) + 16
    struct.pack_into(">9i", data, matrix, 0, 0x10000, 0, -0x10000, 0, 0, CLIP_SIZE[1] << 16, 0, 0x40000000)
    target.write_bytes(bytes(data))
    return target


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _aws(moto: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=moto, region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> Path:
    folder = tmp_path_factory.mktemp("made-videos")
    photo = testdata / "faces/obama/1.jpg"
    _made_clip(photo, folder / "obama.mp4", "mp4v")
    _made_clip(photo, folder / "obama.avi", "MJPG")
    _rotated(_made_clip(photo, folder / "stored-landscape.mp4", "mp4v", portrait=True), folder / "obama-phone.mp4")
    (folder / "notes.mp4").write_bytes(b"meeting notes, not a video\n" * 100)
    return folder


@pytest.fixture(scope="module")
def live(
    moto: str, made: Path, tmp_path_factory: pytest.TempPathFactory, cache: Path, testdata: Path
) -> Iterator[LiveServer]:
    _aws(moto, "s3").create_bucket(Bucket="stored")
    _aws(moto, "s3").put_object(Bucket="stored", Key="clip.mp4", Body=(testdata / "video/five_frames.mp4").read_bytes())
    server = start_server(
        tmp_path_factory.mktemp("video") / "data",
        cache,
        {
            "FACEINDEX_BUCKETS": f"shared={testdata / 'video'},made={made},faces={testdata / 'faces'}",
            "FACEINDEX_S3_ENDPOINT": moto,
            "FACEINDEX_S3_ACCESS_KEY_ID": "k",
            "FACEINDEX_S3_SECRET_ACCESS_KEY": "s",
            "FACEINDEX_SNS_ENDPOINT": moto,
            "FACEINDEX_SNS_ACCESS_KEY_ID": "k",
            "FACEINDEX_SNS_SECRET_ACCESS_KEY": "s",
            "FACEINDEX_VIDEO_MAX_JOBS": "3",
        },
    )
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture
def client(live: LiveServer) -> Iterator[Any]:
    start = len(live.shape_errors)
    yield live.client(live.new_key())
    assert live.shape_errors[start:] == []


def video(bucket: str, name: str) -> dict[str, Any]:
    return {"S3Object": {"Bucket": bucket, "Name": name}}


def wait(client: Any, get: str, job_id: str, timeout: float = 120, **params: Any) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer: dict[str, Any] = getattr(client, get)(JobId=job_id, **params)
        if answer["JobStatus"] != "IN_PROGRESS":
            return answer
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still IN_PROGRESS after {timeout} s")


def every_page(client: Any, get: str, member: str, job_id: str, **params: Any) -> tuple[list[Any], int]:
    items, token, pages = [], None, 0
    while True:
        page = getattr(client, get)(JobId=job_id, **({"NextToken": token} if token else {}), **params)
        items += page[member]
        pages += 1
        token = page.get("NextToken")
        if not token:
            return items, pages


def test_face_detection_on_the_shared_clip_pages_and_notifies(client: Any, moto: str, testdata: Path) -> None:
    sns, sqs = _aws(moto, "sns"), _aws(moto, "sqs")
    topic = sns.create_topic(Name="video-jobs")["TopicArn"]
    queue = sqs.create_queue(QueueName="video-jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    job_id = client.start_face_detection(
        Video=video("shared", "short_hamilton_clip.mp4"),
        JobTag="hamilton-1",
        NotificationChannel={"SNSTopicArn": topic, "RoleArn": ROLE},
    )["JobId"]
    answer = wait(client, "get_face_detection", job_id)
    assert answer["JobStatus"] == "SUCCEEDED" and answer["JobTag"] == "hamilton-1"
    with open_video(testdata / "video/short_hamilton_clip.mp4") as opened:
        expected = to_jsonable(opened.metadata)
    assert answer["VideoMetadata"] == pytest.approx(expected)  # Codec, Duration, Format, FrameRate, size, range
    faces = answer["Faces"]
    stamps = sorted({f["Timestamp"] for f in faces})
    assert faces and [f["Timestamp"] for f in faces] == sorted(f["Timestamp"] for f in faces)
    assert len(stamps) > 30 and stamps[-1] <= expected["DurationMillis"]  # ms of the source, 5 samples a second
    assert all(b - a >= 166 for a, b in itertools.pairwise(stamps))
    paged, pages = every_page(client, "get_face_detection", "Faces", job_id, MaxResults=25)
    assert paged == faces and pages == -(-len(faces) // 25)
    with pytest.raises(ClientError) as caught:
        client.get_face_detection(JobId=job_id, NextToken="bm90IGEgdG9rZW4=")
    assert caught.value.response["Error"]["Code"] == "InvalidPaginationTokenException"
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5, MaxNumberOfMessages=10).get("Messages", [])
    messages = [json.loads(json.loads(m["Body"])["Message"]) for m in received]
    assert [(m["JobId"], m["Status"], m["API"], m["JobTag"]) for m in messages] == [
        (job_id, "SUCCEEDED", "StartFaceDetection", "hamilton-1")
    ]
    assert messages[0]["Video"] == {"S3ObjectName": "short_hamilton_clip.mp4", "S3Bucket": "shared"}
    assert abs(messages[0]["Timestamp"] / 1000 - time.time()) < 300


def test_face_search_tracks_persons_sorts_and_lists_the_unmatched(client: Any, live: LiveServer) -> None:
    client.create_collection(CollectionId="hamilton")
    for name in ("lin_manuel_miranda/1.png", "alex_lacamoire/1.jpg"):
        client.index_faces(CollectionId="hamilton", Image=video("faces", name), ExternalImageId=name.split("/")[0])
    job_id = client.start_face_search(
        Video=video("shared", "short_hamilton_clip.mp4"), CollectionId="hamilton", FaceMatchThreshold=80
    )["JobId"]
    answer = wait(client, "get_face_search", job_id)
    assert answer["JobStatus"] == "SUCCEEDED", answer.get("StatusMessage")
    persons = answer["Persons"]
    assert [p["Timestamp"] for p in persons] == sorted(p["Timestamp"] for p in persons)  # TIMESTAMP by default
    by_index, _ = every_page(client, "get_face_search", "Persons", job_id, SortBy="INDEX", MaxResults=7)
    assert [p["Person"]["Index"] for p in by_index] == sorted(p["Person"]["Index"] for p in persons)
    assert sorted(map(json.dumps, by_index)) == sorted(map(json.dumps, persons))
    matched: dict[str, set[int]] = {}
    for entry in persons:
        for match in entry["FaceMatches"]:
            assert match["Similarity"] >= 80
            matched.setdefault(match["Face"]["ExternalImageId"], set()).add(entry["Person"]["Index"])
    assert len(matched.get("lin_manuel_miranda", set())) == 1  # on stage the whole time: one person
    assert any(p["FaceMatches"] == [] for p in persons)  # the audience: listed without a match
    entry = persons[0]
    assert set(entry["Person"]) == {"Index", "BoundingBox", "Face"} and "Landmarks" in entry["Person"]["Face"]

    # a key limited to other collections may not read this search's results (the door takes the job's collection)
    done = live.cli("keys", "create", "--allow", "identify", "--collections", "elsewhere", "--json")
    limited = json.loads(done.stdout)
    other = live.client((limited["AccessKeyId"], limited["SecretAccessKey"]))
    with pytest.raises(ClientError) as refused:
        other.get_face_search(JobId=job_id)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "limited to the collections elsewhere" in refused.value.response["Error"]["Message"]


def test_made_clips_in_other_codecs_containers_and_a_rotated_phone_video(client: Any) -> None:
    client.create_collection(CollectionId="obama")
    client.index_faces(CollectionId="obama", Image=video("faces", "obama/1.jpg"), ExternalImageId="obama")
    expected = {
        "obama.mp4": ("mpeg4", "QuickTime / MOV", 320, 240),
        "obama.avi": ("mjpeg", "AVI (Audio Video Interleaved)", 320, 240),
        "obama-phone.mp4": ("mpeg4", "QuickTime / MOV", 240, 320),  # displayed upright: portrait
    }
    started = {
        name: client.start_face_search(Video=video("made", name), CollectionId="obama")["JobId"] for name in expected
    }
    for name, job_id in started.items():
        answer = wait(client, "get_face_search", job_id)
        assert answer["JobStatus"] == "SUCCEEDED", (name, answer.get("StatusMessage"))
        meta = answer["VideoMetadata"]
        assert (meta["Codec"], meta["Format"], meta["FrameWidth"], meta["FrameHeight"]) == expected[name]
        assert meta["DurationMillis"] == 2000
        indexes = {p["Person"]["Index"] for p in answer["Persons"]}
        assert indexes == {0}, name  # one face panning: one person
        assert all(p["FaceMatches"][0]["Face"]["ExternalImageId"] == "obama" for p in answer["Persons"])


def test_errors_quota_and_idempotency(client: Any, moto: str) -> None:
    def code(call: Any, **params: Any) -> str:
        with pytest.raises(ClientError) as caught:
            call(**params)
        return str(caught.value.response["Error"]["Code"])

    assert code(client.start_face_detection, Video=video("shared", "absent.mp4")) == "InvalidS3ObjectException"
    assert code(client.start_face_detection, Video=video("nobucket", "a.mp4")) == "InvalidS3ObjectException"
    assert code(client.start_face_detection, Video=video("stored", "absent.mp4")) == "InvalidS3ObjectException"
    search = {"Video": video("made", "obama.mp4"), "CollectionId": "no-such-collection"}
    assert code(client.start_face_search, **search) == "ResourceNotFoundException"
    assert code(client.get_face_search, JobId="a" * 64) == "ResourceNotFoundException"
    failed = client.start_face_detection(Video=video("made", "notes.mp4"))["JobId"]
    answer = wait(client, "get_face_detection", failed)
    assert answer["JobStatus"] == "FAILED" and "not a video" in answer["StatusMessage"] and answer["Faces"] == []
    # ClientRequestToken: the same request is the same job; other members with it are refused
    first = client.start_face_detection(Video=video("stored", "clip.mp4"), ClientRequestToken="clip-1")["JobId"]
    again = client.start_face_detection(Video=video("stored", "clip.mp4"), ClientRequestToken="clip-1")["JobId"]
    assert again == first
    other = {"Video": video("stored", "clip.mp4"), "ClientRequestToken": "clip-1", "JobTag": "x"}
    assert code(client.start_face_detection, **other) == "IdempotentParameterMismatchException"
    from_store = wait(client, "get_face_detection", first)  # read from the S3-compatible store
    assert from_store["JobStatus"] == "SUCCEEDED" and from_store["VideoMetadata"]["FrameWidth"] == 820
    # the quota (3 here): IN_PROGRESS jobs, running or waiting; no queue past it
    running = [client.start_face_detection(Video=video("shared", "five_frames.mp4"))["JobId"] for _ in range(3)]
    assert code(client.start_face_detection, Video=video("shared", "five_frames.mp4")) == "LimitExceededException"
    assert all(wait(client, "get_face_detection", j)["JobStatus"] == "SUCCEEDED" for j in running)


def test_the_aws_cli(live: LiveServer, tmp_path: Path) -> None:
    key = live.new_key()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key[0],
        "AWS_SECRET_ACCESS_KEY": key[1],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
        "HOME": str(tmp_path),
    }

    def aws(*args: str) -> Any:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "aws"), "rekognition", *args, "--endpoint-url", live.url],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    job_id = aws("start-face-detection", "--video", json.dumps(video("made", "obama.avi")), "--job-tag", "cli")["JobId"]
    deadline = time.monotonic() + 120
    while (answer := aws("get-face-detection", "--job-id", job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert answer["JobStatus"] == "SUCCEEDED" and answer["JobTag"] == "cli"
    assert len(answer["Faces"]) == 10 and answer["VideoMetadata"]["Codec"] == "mjpeg"  # 5 a second for 2 s
    pages = [aws("get-face-detection", "--job-id", job_id, "--max-results", "4")]
    while "NextToken" in pages[-1]:
        pages.append(
            aws("get-face-detection", "--job-id", job_id, "--max-results", "4", "--next-token", pages[-1]["NextToken"])
        )
    assert [len(p["Faces"]) for p in pages] == [4, 4, 2] and [f for p in pages for f in p["Faces"]] == answer["Faces"]


def _running(client: Any, job_id: str, timeout: float = 60) -> None:
    """Until a worker has the video open (its metadata is recorded then)."""
    deadline = time.monotonic() + timeout
    while "VideoMetadata" not in client.get_face_detection(JobId=job_id, MaxResults=1):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)


def test_a_job_survives_sigkill_once_and_fails_cleanly_the_second_time(
    tmp_path: Path, cache: Path, testdata: Path
) -> None:
    data = tmp_path / "data"
    env = {"FACEINDEX_BUCKETS": f"shared={testdata / 'video'}", "FACEINDEX_VIDEO_FPS": "15"}  # longer jobs
    server = start_server(data, cache, env)
    key = server.new_key()

    def killed_and_restarted() -> Any:
        nonlocal server
        server.stop(signal.SIGKILL)
        server = start_server(data, cache, env)
        return server.client(key)

    try:
        client = server.client(key)
        clip = video("shared", "short_hamilton_clip.mp4")
        survivor, doomed = (client.start_face_detection(Video=clip)["JobId"] for _ in range(2))
        _running(client, survivor)
        client = killed_and_restarted()
        answer = wait(client, "get_face_detection", survivor)  # restarted by the new server, and finished
        assert answer["JobStatus"] == "SUCCEEDED" and len({f["Timestamp"] for f in answer["Faces"]}) > 100
        _running(client, doomed)
        client = killed_and_restarted()
        _running(client, doomed)  # restarted once ...
        client = killed_and_restarted()
        answer = wait(client, "get_face_detection", doomed)  # ... and failed, not IN_PROGRESS for ever
        assert answer["JobStatus"] == "FAILED" and "interrupted 2 times" in answer["StatusMessage"]
        assert server.shape_errors == []
    finally:
        server.stop(signal.SIGTERM)


def test_the_rest_api(live: LiveServer) -> None:
    key = live.new_key()
    live.client(key).create_collection(CollectionId="rest-obama")
    live.client(key).index_faces(CollectionId="rest-obama", Image=video("faces", "obama/1.jpg"))
    with httpx.Client(base_url=live.url, auth=key, timeout=60) as rest:
        started = rest.post(
            "/v1/video/face-searches",
            json={"video": {"bucket": "made", "name": "obama.mp4"}, "collection_id": "rest-obama", "job_tag": "rest"},
            headers={"Idempotency-Key": "rest-search-1"},
        )
        assert started.status_code == 200, started.text
        job_id = started.json()["JobId"]
        again = rest.post(
            "/v1/video/face-searches",
            json={"S3Object": {"Bucket": "made", "Name": "obama.mp4"}, "CollectionId": "rest-obama", "JobTag": "rest"},
            headers={"Idempotency-Key": "rest-search-1"},
        )
        assert again.json() == {"JobId": job_id}  # Rekognition's member names too, and the token kept
        deadline = time.monotonic() + 120
        while (answer := rest.get(f"/v1/video/face-searches/{job_id}").json())["JobStatus"] == "IN_PROGRESS":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert answer["JobStatus"] == "SUCCEEDED" and answer["JobTag"] == "rest"
        assert shape_errors(answer, operation("GetFaceSearch").output_shape) == []  # type: ignore[union-attr]
        page = rest.get(f"/v1/video/face-searches/{job_id}", params={"max_results": 3, "sort_by": "INDEX"}).json()
        assert len(page["Persons"]) == 3 and "NextToken" in page
        missing = rest.post("/v1/video/face-detections", json={"video": {"bucket": "made", "name": "absent.mp4"}})
        assert missing.status_code == 400 and missing.json()["code"] == "InvalidS3ObjectException"
        unknown = rest.get("/v1/video/face-detections/" + "b" * 64)
        assert unknown.status_code == 404
        spec = rest.get("/openapi.json").json()
        assert {"/v1/video/face-detections", "/v1/video/face-searches/{job_id}"} <= set(spec["paths"])
