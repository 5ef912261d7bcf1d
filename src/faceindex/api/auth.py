"""Credentials -> a `Caller` for the service door: the key SigV4 or HTTP Basic found (or none, on a
server started with --no-auth), the channel, the request id and a purpose stated in a header."""

from __future__ import annotations

from starlette.requests import Request

from faceindex.service.context import Caller, anonymous
from faceindex.service.keys import AccessKey

PURPOSE_HEADER = "x-faceindex-purpose"
MOST_PURPOSE = 256  # characters of a stated purpose kept


def caller(key: AccessKey | None, channel: str, request: Request) -> Caller:
    purpose = request.headers.get(PURPOSE_HEADER, "").strip()[:MOST_PURPOSE] or None
    request_id = str(request.state.request_id)
    if key is None:
        base = anonymous(channel)
        return Caller(base.principal, channel, base.grants, request_id, purpose)
    return Caller(key.access_key_id, channel, key.grants, request_id, purpose)
