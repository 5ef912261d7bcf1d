"""Rekognition's `Image` parameter: inline bytes, or an S3Object read from a local folder mapped to
the bucket name or from an S3-compatible store (settings `buckets` and `s3_*`); and `Video` (an
S3Object from the same places): checked at Start (`check_video`), opened as a file by a job (`video_file`)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from faceindex.config import Settings
from faceindex.errors import ImageTooLarge, InvalidParameter, InvalidS3Object, VideoTooLarge
from faceindex.imaging.decode import DecodedImage, ImageInput, decode_image

_NO_OBJECT = "Unable to get object metadata from S3. Check object key, region and/or access permissions."


def image_input(image: Any, settings: Settings, name: str = "Image") -> ImageInput | DecodedImage:
    """`{"Bytes": ...}` or `{"S3Object": ...}` as Rekognition takes them, or `{"Path": ...}`: a local file,
    from the CLI and the library only (the wire protocol's validator refuses a member it does not know)."""
    if isinstance(image, dict) and set(image) == {"Path"}:
        path: Path = Path(image["Path"])
        return path
    if not isinstance(image, dict) or ("Bytes" in image) == ("S3Object" in image):
        raise InvalidParameter(f"{name} must have exactly one of Bytes or S3Object.")
    if "Bytes" in image:
        data: bytes = image["Bytes"]
        return data
    return _s3_object(image["S3Object"], settings)


def _s3_object(location: dict[str, str], settings: Settings) -> ImageInput | DecodedImage:
    bucket, key = _bucket_and_key(location)
    if (path := _in_folder(bucket, key, settings)) is not None:
        return path
    if settings.s3_endpoint:
        return _fetch(bucket, key, location.get("Version"), settings)
    raise InvalidS3Object(f"{_NO_OBJECT} (bucket {bucket!r} is not configured on this server)")


def _bucket_and_key(location: Any) -> tuple[str, str]:
    if not isinstance(location, dict):
        raise InvalidParameter("S3Object needs Bucket and Name.")
    bucket, key = location.get("Bucket", ""), location.get("Name", "")
    if not bucket or not key or not isinstance(bucket, str) or not isinstance(key, str):
        raise InvalidParameter("S3Object needs Bucket and Name.")
    return bucket, key


def _in_folder(bucket: str, key: str, settings: Settings) -> Path | None:
    """The file of a bucket mapped to a local folder (InvalidS3Object if absent); None for other buckets."""
    folders = settings.bucket_folders()
    if bucket not in folders:
        return None
    root = folders[bucket].resolve()
    try:
        path = (root / key).resolve()
        found = path.is_relative_to(root) and path.is_file()  # no escaping the folder with ../
    except (OSError, ValueError):  # a NUL byte, a name longer than the file system allows
        found = False
    if not found:
        raise InvalidS3Object(_NO_OBJECT)
    return path


def _video_location(video: Any) -> tuple[Path | None, dict[str, str] | None]:
    """A `Video`'s local path ({"Path": ...}: the CLI's) or its S3Object."""
    if isinstance(video, dict) and set(video) == {"Path"}:
        return Path(video["Path"]), None
    if not isinstance(video, dict) or set(video) != {"S3Object"}:
        raise InvalidParameter("Video must have an S3Object.")
    return None, video["S3Object"]


def check_video(video: Any, settings: Settings, max_bytes: int) -> int:
    """At Start, as Rekognition: the object must exist (InvalidS3ObjectException) and be at most
    `max_bytes` (VideoTooLargeException); its size. Whether it decodes is the job's to find."""
    path, location = _video_location(video)
    if path is None:
        assert location is not None
        bucket, key = _bucket_and_key(location)
        path = _in_folder(bucket, key, settings)
        if path is None:
            size = _s3_size(bucket, key, location.get("Version"), settings)
            return _within(size, max_bytes)
    try:
        return _within(path.stat().st_size, max_bytes) if path.is_file() else _missing()
    except (OSError, ValueError):
        return _missing()


def _within(size: int, max_bytes: int) -> int:
    if size > max_bytes:
        raise VideoTooLarge(f"the video is {size} bytes; the limit is {max_bytes} bytes")
    return size


def _missing() -> int:
    raise InvalidS3Object(_NO_OBJECT)


@contextlib.contextmanager
def video_file(video: Any, settings: Settings) -> Iterator[Path]:
    """The video as a file for FFmpeg: a local or bucket-folder file as it is; an object of an S3-compatible
    store streamed to a private temporary file (0600 in a fresh 0700 folder, never held in memory) that is
    deleted afterwards."""
    path, location = _video_location(video)
    if path is not None:
        yield path
        return
    assert location is not None
    bucket, key = _bucket_and_key(location)
    if (found := _in_folder(bucket, key, settings)) is not None:
        yield found
        return
    if not settings.s3_endpoint:
        raise InvalidS3Object(f"{_NO_OBJECT} (bucket {bucket!r} is not configured on this server)")
    from botocore.exceptions import BotoCoreError, ClientError

    folder = tempfile.mkdtemp(prefix="faceindex-video-")
    try:
        target = Path(folder) / "video"
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            try:
                extra = {"VersionId": location["Version"]} if location.get("Version") else {}
                _client(settings).download_fileobj(bucket, key, out, ExtraArgs=extra or None)
            except (ClientError, BotoCoreError):
                raise InvalidS3Object(_NO_OBJECT) from None
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _s3_size(bucket: str, key: str, version: str | None, settings: Settings) -> int:
    if not settings.s3_endpoint:
        raise InvalidS3Object(f"{_NO_OBJECT} (bucket {bucket!r} is not configured on this server)")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        extra = {"VersionId": version} if version else {}
        return int(_client(settings).head_object(Bucket=bucket, Key=key, **extra)["ContentLength"])
    except (ClientError, BotoCoreError, KeyError, TypeError, ValueError):
        raise InvalidS3Object(_NO_OBJECT) from None


def _client(settings: Settings) -> Any:
    return _s3_client(
        settings.s3_endpoint, settings.s3_region, settings.s3_access_key_id, settings.s3_secret_access_key
    )


_client_lock = threading.Lock()


@functools.cache
def _s3_client(endpoint: str, region: str, key_id: str, secret: str) -> Any:
    """One client per store (clients are thread-safe; making one is slow and the default session is not)."""
    import boto3  # only servers that read from an S3-compatible store need it
    from botocore.config import Config

    with _client_lock:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=key_id or None,
            aws_secret_access_key=secret or None,
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )


def _fetch(bucket: str, key: str, version: str | None, settings: Settings) -> DecodedImage:
    from botocore.exceptions import BotoCoreError, ClientError

    client = _s3_client(
        settings.s3_endpoint, settings.s3_region, settings.s3_access_key_id, settings.s3_secret_access_key
    )
    limit = settings.limits.max_file_bytes
    try:
        extra = {"VersionId": version} if version else {}
        response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit}", **extra)
        data: bytes = response["Body"].read(limit + 1)
    except (ClientError, BotoCoreError):
        raise InvalidS3Object(_NO_OBJECT) from None
    if len(data) > limit:
        raise ImageTooLarge(f"S3 object is larger than {limit} bytes")
    # decoded here: S3 objects may be up to the file limit (15 MB), inline bytes only 5 MB
    return decode_image(data, replace(settings.limits, max_bytes=limit))
