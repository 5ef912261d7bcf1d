"""Credentials -> a `Caller` for the service door: the key a SigV4 signature (Rekognition's protocol) or
HTTP Basic (the REST API, /metrics) proves, or none on a server started with --no-auth; then the caller
with its channel, request id and a purpose stated in a header."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request

from faceindex.api.rekognition import model, sigv4
from faceindex.api.state import ServerState
from faceindex.service.context import Caller, anonymous
from faceindex.service.keys import AccessKey


class Unauthorized(Exception):
    """No or wrong REST credentials (401)."""


PURPOSE_HEADER = "x-faceindex-purpose"
MOST_PURPOSE = 256  # characters of a stated purpose kept


def caller(key: AccessKey | None, channel: str, request: Request) -> Caller:
    purpose = request.headers.get(PURPOSE_HEADER, "").strip()[:MOST_PURPOSE] or None
    request_id = str(request.state.request_id)
    if key is None:
        base = anonymous(channel)
        return Caller(base.principal, channel, base.grants, request_id, purpose)
    return Caller(key.access_key_id, channel, key.grants, request_id, purpose)


def basic(state: ServerState, request: Request) -> AccessKey | None:
    """The key of a REST call (HTTP Basic: the key id as user, the secret as password); None without auth."""
    if state.services.settings.auth == "none":
        return None
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized(
            "Send an access key with HTTP Basic authentication: the key id as user, the secret as password."
        )
    try:
        key_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        raise Unauthorized("Malformed Basic credentials.") from None
    key = state.keys.get(key_id)
    if key is None or not hmac.compare_digest(key.secret_access_key.encode(), secret.encode()):
        raise Unauthorized("Unknown access key or wrong secret.")
    return key


def sigv4_key(state: ServerState, request: Request, body: bytes) -> AccessKey | None:
    """The key whose SigV4 signature the Rekognition request carries (sigv4.AuthError if none); None without auth."""
    if state.services.settings.auth == "none":
        return None
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    signed = sigv4.SignedRequest(
        method=request.method,
        raw_path=raw_path.decode("latin-1"),
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        body=body,
    )
    settings = state.services.settings
    return sigv4.verify(signed, state.keys.get, model.SERVICE, settings.accepted_regions())
