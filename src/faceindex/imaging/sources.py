"""Rekognition's `Image` parameter: inline bytes, or an S3Object read from a local folder mapped to
the bucket name or from an S3-compatible store (settings `buckets` and `s3_*`)."""

from __future__ import annotations

import functools
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from faceindex.config import Settings
from faceindex.errors import ImageTooLarge, InvalidParameter, InvalidS3Object
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
    bucket, key = location.get("Bucket", ""), location.get("Name", "")
    if not bucket or not key:
        raise InvalidParameter("S3Object needs Bucket and Name.")
    folders = settings.bucket_folders()
    if bucket in folders:
        root = folders[bucket].resolve()
        try:
            path = (root / key).resolve()
            found = path.is_relative_to(root) and path.is_file()  # no escaping the folder with ../
        except (OSError, ValueError):  # a NUL byte, a name longer than the file system allows
            found = False
        if not found:
            raise InvalidS3Object(_NO_OBJECT)
        return path
    if settings.s3_endpoint:
        return _fetch(bucket, key, location.get("Version"), settings)
    raise InvalidS3Object(f"{_NO_OBJECT} (bucket {bucket!r} is not configured on this server)")


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
