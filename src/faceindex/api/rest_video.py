"""REST routes for stored-video jobs (`/v1/video`), on `api.rest`'s router and door."""

from __future__ import annotations

from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from faceindex.api.rest import JsonBody, call_door, member, router


class S3Location(JsonBody):
    bucket: str = member("bucket", "Bucket", "a bucket folder or a bucket of the S3-compatible store")
    name: str = member("name", "Name", "the object's key")
    version: str | None = member("version", "Version", "an object version (S3-compatible store)", default=None)


class VideoJob(JsonBody):
    video: S3Location = member("video", "S3Object", "the video: MP4, MOV or AVI, at most 10 GB")
    job_tag: str | None = member("job_tag", "JobTag", "returned with the job and its notification", default=None)
    notification_channel: dict[str, str] | None = member(
        "notification_channel", "NotificationChannel", "SNSTopicArn and RoleArn (needs [sns] endpoint)", default=None
    )

    def members(self) -> dict[str, Any]:
        location = {"Bucket": self.video.bucket, "Name": self.video.name, "Version": self.video.version}
        video = {"S3Object": {k: v for k, v in location.items() if v is not None}}
        return {"Video": video, "JobTag": self.job_tag, "NotificationChannel": self.notification_channel}


class FaceDetectionJob(VideoJob):
    face_attributes: Literal["DEFAULT", "ALL"] | None = member(
        "face_attributes", "FaceAttributes", "ALL adds eyes and mouth open", default=None
    )


class FaceSearchJob(VideoJob):
    collection_id: str = member("collection_id", "CollectionId", "the collection to search")
    face_match_threshold: float | None = member(
        "face_match_threshold", "FaceMatchThreshold", "0-100, default 80", default=None
    )


@router.post(
    "/video/face-detections",
    tags=["video"],
    summary="Start finding the faces of a stored video (a job; Idempotency-Key is kept 7 days)",
    operation_id="StartFaceDetection",
)
async def start_face_detection(request: Request, body: FaceDetectionJob) -> Response:
    return await call_door(request, {**body.members(), "FaceAttributes": body.face_attributes})


@router.get(
    "/video/face-detections/{job_id}",
    tags=["video"],
    summary="A face-detection job: its status, then its faces page by page",
    operation_id="GetFaceDetection",
)
async def get_face_detection(
    request: Request, job_id: str, max_results: int | None = None, next_token: str | None = None
) -> Response:
    return await call_door(request, {"JobId": job_id, "MaxResults": max_results, "NextToken": next_token})


@router.post(
    "/video/face-searches",
    tags=["video"],
    summary="Start searching a collection for the persons of a stored video (a job)",
    operation_id="StartFaceSearch",
)
async def start_face_search(request: Request, body: FaceSearchJob) -> Response:
    search = {"CollectionId": body.collection_id, "FaceMatchThreshold": body.face_match_threshold}
    return await call_door(request, {**body.members(), **search})


@router.get(
    "/video/face-searches/{job_id}",
    tags=["video"],
    summary="A face-search job: its status, then its persons and their matches page by page",
    operation_id="GetFaceSearch",
)
async def get_face_search(
    request: Request,
    job_id: str,
    max_results: int | None = None,
    next_token: str | None = None,
    sort_by: Literal["TIMESTAMP", "INDEX"] | None = None,
) -> Response:
    params = {"JobId": job_id, "MaxResults": max_results, "NextToken": next_token, "SortBy": sort_by}
    return await call_door(request, params)
