"""Opaque NextToken values: the position after which the next page starts, bound to its request.

As moto's paginator does, a token carries a checksum of the request it came from (the operation
and the members that choose the rows, not the page size), so a token is refused when sent with
another collection or filter, and a forged position (`{"after": 2**63}`) is refused before it
reaches SQL: both are InvalidPaginationTokenException, as Rekognition answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

from faceindex.errors import InvalidPaginationToken

MAX_POSITION = 2**63 - 1  # SQLite's integer range
MAX_NAME = 255  # collection ids and user ids are at most 128-255 characters


def _checksum(request: Mapping[str, object]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_token(position: str | int, request: Mapping[str, object]) -> str:
    payload = {"after": position, "for": _checksum(request)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def decode_token(token: str | None, default: str | int, request: Mapping[str, object]) -> str | int:
    """The position `token` names, checked against the request it is sent with; `default` if none."""
    if not token:
        return default
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        position, checksum = payload["after"], payload["for"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InvalidPaginationToken("Invalid pagination token: it is not one this server issued.") from None
    if checksum != _checksum(request):
        raise InvalidPaginationToken("Invalid pagination token: it was issued for another request.")
    valid = (
        isinstance(position, int) and not isinstance(position, bool) and 0 <= position <= MAX_POSITION
        if isinstance(default, int)
        else isinstance(position, str) and len(position) <= MAX_NAME
    )
    if not valid:
        raise InvalidPaginationToken("Invalid pagination token: its position is out of range.")
    return position  # type: ignore[no-any-return]
