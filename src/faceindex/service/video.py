"""Stored video (issue 14): StartFaceDetection / GetFaceDetection and StartFaceSearch / GetFaceSearch.

Start checks the request at once, as Rekognition does (the Video.S3Object exists and is at most 10 GB,
the collection exists, a NotificationChannel has an endpoint to go to), and queues a job row; the
worker pool (`service.jobs`) runs it with `run_job`. Idempotency is the job table's own: a
ClientRequestToken names the job it started for 7 days (Rekognition's period, longer than the door's
24 h for other operations): the same token with the same members answers the same JobId, with others
IdempotentParameterMismatchException. Past `video_max_jobs` IN_PROGRESS jobs (running or waiting for a
worker) Start answers LimitExceededException: there is no queue beyond that, as at AWS.

A job samples `video_fps` frames a second (default 5; timestamps are the source frames', in ms),
analyses each frame (the detector at `video_detector_upsample`; descriptors only where the tracker
asks for them), follows faces with `tracking.Tracker` and writes one row per Faces / Persons entry, so
Get* pages in SQL: MaxResults (default and cap 1000), NextToken, GetFaceSearch's SortBy TIMESTAMP
(default) or INDEX. GetFaceSearch matches each tracked person's mean descriptor against the collection
with the calibrated Similarity at FaceMatchThreshold (raised by the door's floors); persons without a
match are listed with no FaceMatches.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from faceindex.errors import FaceIndexError, IdempotentParameterMismatch, InvalidParameter, ResourceNotFound
from faceindex.imaging.decode import DecodedImage
from faceindex.imaging.sources import check_video
from faceindex.imaging.video import VideoLimits, open_video
from faceindex.jsonable import to_jsonable
from faceindex.pipeline import FaceEngine
from faceindex.service import validation
from faceindex.service.collections import open_collection
from faceindex.service.container import Services
from faceindex.service.idempotency import TOKEN_MEMBER, TOKEN_PATTERN
from faceindex.service.search import nearest_faces
from faceindex.store.paging import decode_token, encode_token
from faceindex.store.records import CollectionRecord, JobRecord, JobResult, NewJob
from faceindex.tracking import Observation, Tracker
from faceindex.types import AnalyzedFace, BoundingBox, FaceDetail

TOKEN_DAYS = 7  # Rekognition keeps a Start's ClientRequestToken this long
MOST_RESULTS = 1000  # Get*'s MaxResults: default and cap
MATCHES_PER_PERSON = 10  # FaceMatches listed for each tracked person, most similar first
DETECTION, SEARCH = "FaceDetection", "FaceSearch"
APIS = {DETECTION: "StartFaceDetection", SEARCH: "StartFaceSearch"}
Progress = Callable[[int, int], None]  # (timestamp ms reached, duration ms)


class LimitExceeded(FaceIndexError):
    code = "LimitExceededException"


class JobLost(Exception):
    """The worker no longer holds the job (it was failed or requeued by another process): stop quietly."""


# --- Start ------------------------------------------------------------------------------------


def start_face_detection(services: Services, params: dict[str, Any]) -> dict[str, str]:
    attributes = params.get("FaceAttributes") or "DEFAULT"
    if attributes not in ("DEFAULT", "ALL"):
        raise InvalidParameter("FaceAttributes must be DEFAULT or ALL")
    return _start(services, DETECTION, params)


def start_face_search(services: Services, params: dict[str, Any]) -> dict[str, str]:
    open_collection(services, params["CollectionId"])
    threshold = params.get("FaceMatchThreshold")
    validation.in_range("FaceMatchThreshold", 80.0 if threshold is None else threshold, 0, 100)
    return _start(services, SEARCH, params)


def _start(services: Services, api: str, params: dict[str, Any]) -> dict[str, str]:
    settings = services.settings
    token = params.get(TOKEN_MEMBER)
    if token is not None and (not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token)):
        raise InvalidParameter(f"{TOKEN_MEMBER} must be 1 to 64 of a-z, A-Z, 0-9, '-' and '_'")
    if "Video" not in params:
        raise InvalidParameter("Video is required")
    check_video(params["Video"], settings, VideoLimits().max_bytes)
    if params.get("NotificationChannel") is not None and not settings.sns_endpoint:
        raise InvalidParameter(
            "NotificationChannel needs an SNS-compatible endpoint, and this server has none ([sns] endpoint)"
        )
    members = {name: value for name, value in params.items() if name != TOKEN_MEMBER and value is not None}
    request = json.dumps(members, sort_keys=True, default=str)
    digest = hashlib.sha256(request.encode()).hexdigest()
    now = time.time()
    job = NewJob(secrets.token_hex(32), api, request, digest, client_token=token, job_tag=params.get("JobTag"))
    created = services.store.create_job(job, now, settings.video_max_jobs, token_since=now - TOKEN_DAYS * 86400)
    if created is None:
        raise LimitExceeded(
            f"{settings.video_max_jobs} video jobs are in progress, the most this server takes ([video] max_jobs)"
        )
    if created.job_id != job.job_id and created.request_sha256 != digest:
        raise IdempotentParameterMismatch(
            f"ClientRequestToken {token!r} was used with other parameters in an earlier {APIS[api]} request"
        )
    return {"JobId": created.job_id}


# --- Get ----------------------------------------------------------------------------------------


def get_face_detection(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    return _get(services, DETECTION, params, "Faces", by_index=False)


def get_face_search(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    sort = params.get("SortBy") or "TIMESTAMP"
    if sort not in ("TIMESTAMP", "INDEX"):
        raise InvalidParameter("SortBy must be TIMESTAMP or INDEX")
    return _get(services, SEARCH, params, "Persons", by_index=sort == "INDEX")


def _get(services: Services, api: str, params: dict[str, Any], member: str, by_index: bool) -> dict[str, Any]:
    job_id = params.get("JobId")
    job = services.store.job(job_id) if isinstance(job_id, str) else None
    if job is None or job.api != api:
        raise ResourceNotFound(f"no {APIS[api]} job {job_id} (finished jobs are kept for a limited time)")
    most = params.get("MaxResults")
    limit = MOST_RESULTS if most is None else min(int(validation.in_range("MaxResults", most, 1, 2**31)), MOST_RESULTS)
    scope = {"job": job.job_id, "by_index": by_index}
    offset = int(decode_token(params.get("NextToken"), 0, scope))
    request = json.loads(job.request)
    answer: dict[str, Any] = {"JobStatus": job.status, "JobId": job.job_id, "Video": request.get("Video")}
    if job.status_message:
        answer["StatusMessage"] = job.status_message
    if job.job_tag:
        answer["JobTag"] = job.job_tag
    if job.video_metadata:
        answer["VideoMetadata"] = json.loads(job.video_metadata)
    items = services.store.job_results(job.job_id, by_index, offset, limit + 1) if job.status == "SUCCEEDED" else []
    answer[member] = [json.loads(item) for item in items[:limit]]
    if len(items) > limit:
        answer["NextToken"] = encode_token(offset + limit, scope)
    return answer


# --- the job's work -------------------------------------------------------------------------------


def run_job(services: Services, job: JobRecord, path: Any, beat: Callable[[], None], progress: Progress) -> None:
    """Process a claimed job on the video file `path` and store its results (SUCCEEDED); errors are the
    caller's to record. `beat()` is called every frame (it heartbeats, and raises JobLost or stops)."""
    settings, store = services.settings, services.store
    request = json.loads(job.request)
    attributes = ["ALL"] if request.get("FaceAttributes") == "ALL" else ["DEFAULT"]
    collection = open_collection(services, request["CollectionId"]) if job.api == SEARCH else None
    engine = services.engine
    if isinstance(engine, FaceEngine) and engine.settings.detector_upsample != settings.video_detector_upsample:
        engine = engine.with_detector(engine.settings.detector, settings.video_detector_upsample)
    tracker = Tracker()
    # each frame's faces (without descriptors: the tracker keeps what it needs) and their provisional tracks
    frames: list[tuple[int, list[FaceDetail], list[int]]] = []
    with open_video(path) as video:
        metadata = video.metadata
        store.set_job_metadata(job.job_id, str(job.owner), json.dumps(to_jsonable(metadata)))
        for timestamp, pixels in video.frames(fps=settings.video_fps):
            beat()
            faces = _analyze(engine, DecodedImage(pixels, "VIDEO"), attributes, tracker, timestamp)
            observed = [Observation(f.detail.BoundingBox, f.detail.Confidence, f.descriptor) for f in faces]
            frames.append((timestamp, [f.detail for f in faces], tracker.update(timestamp, observed)))
            progress(timestamp, metadata.DurationMillis)
    if collection is None:  # every face but the tracker's duplicate boxes, in the frame's order (largest first)
        kept = [(t, [f for f, n in zip(faces, numbers, strict=True) if n >= 0]) for t, faces, numbers in frames]
        results = [
            JobResult(t, place, json.dumps({"Timestamp": t, "Face": to_jsonable(face)}))
            for t, faces in kept
            for place, face in enumerate(faces)
        ]
    else:
        asked = request.get("FaceMatchThreshold")
        results = _persons(services, collection, 80.0 if asked is None else float(asked), tracker, frames)
    expires = time.time() + settings.video_results_days * 86400
    if not store.finish_job(job.job_id, job.owner, "SUCCEEDED", None, results, time.time(), expires):
        raise JobLost(job.job_id)


def _persons(
    services: Services,
    collection: CollectionRecord,
    threshold: float,
    tracker: Tracker,
    frames: list[tuple[int, list[FaceDetail], list[int]]],
) -> list[JobResult]:
    """One Persons entry per tracked face per frame; each person's matches are its mean descriptor's."""
    tracking = tracker.finish()
    matches = {
        p.index: []
        if p.descriptor is None
        else to_jsonable(nearest_faces(services, collection, p.descriptor, MATCHES_PER_PERSON, threshold))
        for p in tracking.persons
    }
    matched = [m["Face"]["FaceId"] for found in matches.values() for m in found]
    services.store.touch_faces(collection, list(dict.fromkeys(matched)), time.time())  # retention counts a match
    results = []
    for (t, faces, _), (_, indexes) in zip(frames, tracking.frames, strict=True):
        for face, index in zip(faces, indexes, strict=True):
            if index < 0:
                continue
            person = {"Index": index, "BoundingBox": to_jsonable(face.BoundingBox), "Face": to_jsonable(face)}
            item = {"Timestamp": t, "Person": person, "FaceMatches": matches[index]}
            results.append(JobResult(t, index, json.dumps(item)))
    return results


def _analyze(
    engine: Any, image: DecodedImage, attributes: list[str], tracker: Tracker, timestamp: int
) -> list[AnalyzedFace]:
    """The frame's faces; with faceindex's engine, descriptors only when the tracker wants them."""
    if not isinstance(engine, FaceEngine):
        faces: list[AnalyzedFace] = engine.analyze(image, attributes)
        return faces

    def wanted(found: list[tuple[BoundingBox, float]]) -> bool:
        return tracker.wants_descriptors(timestamp, [Observation(box, confidence) for box, confidence in found])

    return engine.analyze(image, attributes, embed_if=wanted)
