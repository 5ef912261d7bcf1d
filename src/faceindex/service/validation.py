"""Parameter checks with Rekognition's patterns and ranges; failures are InvalidParameter."""

from __future__ import annotations

import re

from faceindex.errors import InvalidParameter

_COLLECTION_ID = re.compile(r"[a-zA-Z0-9_.\-]{1,255}")
_EXTERNAL_IMAGE_ID = re.compile(r"[a-zA-Z0-9_.\-:]{1,255}")
_USER_ID = re.compile(r"[a-zA-Z0-9_.\-:]{1,128}")
_FACE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_text(value: str) -> bool:
    """False for a string holding a lone surrogate ("\\ud800"): JSON parsers let one through, but it
    is not Unicode text and UTF-8 (SQLite, logs) cannot hold it."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def collection_id(value: str) -> str:
    if not isinstance(value, str) or not _COLLECTION_ID.fullmatch(value):
        raise InvalidParameter("CollectionId must be 1-255 characters of a-z, A-Z, 0-9, '_', '.' or '-'")
    return value


def external_image_id(value: str | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not _EXTERNAL_IMAGE_ID.fullmatch(value)):
        raise InvalidParameter("ExternalImageId must be 1-255 characters of a-z, A-Z, 0-9, '_', '.', '-' or ':'")
    return value


def user_id(value: str) -> str:
    if not isinstance(value, str) or not _USER_ID.fullmatch(value):
        raise InvalidParameter("UserId must be 1-128 characters of a-z, A-Z, 0-9, '_', '.', '-' or ':'")
    return value


def face_ids(values: list[str], most: int) -> list[str]:
    if not isinstance(values, list) or not 1 <= len(values) <= most:
        raise InvalidParameter(f"FaceIds must hold 1 to {most} face ids")
    for value in values:
        if not isinstance(value, str) or not _FACE_ID.fullmatch(value):
            raise InvalidParameter(f"{value!r} is not a valid FaceId")
    return list(dict.fromkeys(values))


def in_range(name: str, value: float, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidParameter(f"{name} must be between {low:g} and {high:g}")
    return value


def max_results(value: int | None, default: int, most: int = 4096) -> int:
    if value is None:
        return default
    return int(in_range("MaxResults", value, 0, most)) or default
