"""Opaque NextToken values: the position after which the next page starts."""

from __future__ import annotations

import base64
import json

from faceindex.errors import InvalidParameter


def encode_token(position: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": position}).encode()).decode()


def decode_token(token: str | None, default: str | int) -> str | int:
    if not token:
        return default
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError):
        raise InvalidParameter("NextToken is not valid") from None
    if not isinstance(position, type(default)):
        raise InvalidParameter("NextToken is not valid")
    return position
