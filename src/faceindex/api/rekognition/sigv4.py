"""AWS Signature Version 4, verified the way AWS verifies it.

The server rebuilds the canonical request from what it received (method, the path as sent, the
query, the signed headers, the SHA-256 of the body), derives the signing key from the stored
secret and the credential scope, and compares signatures in constant time. Failures raise
`AuthError` with the error code and message AWS JSON services return for the same failure, so SDKs
surface them as they would against AWS.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from faceindex.service.keys import AccessKey

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 15 * 60
# What a signature must cover when the request carries it: the operation (X-Amz-Target), how the
# body is read, when and for which host. Only `host` was required before, so a request signed for
# ListFaces without its target could be re-sent as DeleteCollection. Every AWS SDK signs these.
REQUIRED_SIGNED_HEADERS = ("host", "x-amz-date", "x-amz-target", "content-type")
_AUTH_PARTS = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]*)")
_SPACES = re.compile(r"\s+")


class AuthError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class SignedRequest:
    method: str
    raw_path: str  # as sent, still percent-encoded
    query: str
    headers: list[tuple[str, str]]  # lower-case names, in order received, repeats allowed
    body: bytes


def verify(
    request: SignedRequest,
    lookup: Callable[[str], AccessKey | None],
    service: str,
    regions: Collection[str],
    now: float | None = None,
) -> AccessKey:
    """The access key that signed `request` for `service` in one of `regions`, or AuthError."""
    headers = _header_map(request.headers)
    authorization = headers.get("authorization")
    if not authorization:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    if not authorization.startswith(ALGORITHM + " "):
        raise AuthError("IncompleteSignatureException", f"Authorization header must use {ALGORITHM}.")
    parts = dict(_AUTH_PARTS.findall(authorization))
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(name):
            raise AuthError(
                "IncompleteSignatureException",
                f"Authorization header requires '{name}' parameter. Authorization={ALGORITHM} ...",
            )
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthError(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/aws4_request.",
        )
    access_key_id, date, region, scope_service, _ = scope
    if scope_service != service:
        raise AuthError("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    if region not in regions:
        raise AuthError("InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'.")
    amz_date = headers.get("x-amz-date", "")
    signed_at = _parse_amz_date(amz_date)
    if date != amz_date[:8]:
        raise AuthError(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{amz_date[:8]}'.",
        )
    _check_skew(amz_date, signed_at, time.time() if now is None else now)
    signed_headers = parts["SignedHeaders"].split(";")
    for name in REQUIRED_SIGNED_HEADERS:
        if name in headers and name not in signed_headers:
            raise AuthError(
                "InvalidSignatureException", f"'{_title(name)}' must be a 'SignedHeader' in the AWS Authorization."
            )
    if "x-amz-security-token" in headers:
        raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
    key = lookup(access_key_id)
    if key is None:
        raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
    payload_hash = hashlib.sha256(request.body).hexdigest()
    claimed_hash = headers.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash != payload_hash:
        raise AuthError(
            "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    canonical = "\n".join(
        [
            request.method.upper(),
            quote(request.raw_path or "/", safe="/~"),
            _canonical_query(request.query),
            "".join(f"{name}:{headers.get(name, '')}\n" for name in signed_headers),
            parts["SignedHeaders"],
            payload_hash,
        ]
    )
    credential_scope = "/".join(scope[1:])
    to_sign = "\n".join([ALGORITHM, amz_date, credential_scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = _signing_key(key.secret_access_key, date, region, service)
    expected = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts["Signature"]):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.",
        )
    return key


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


def _header_map(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Canonical header values: repeats joined by commas, runs of spaces collapsed, ends trimmed."""
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name.lower(), []).append(_SPACES.sub(" ", value.strip()))
    return {name: ",".join(values) for name, values in merged.items()}


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _parse_amz_date(amz_date: str) -> float:
    try:
        return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise AuthError(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ) from None


def _check_skew(amz_date: str, signed_at: float, now: float) -> None:
    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%SZ")

    if signed_at < now - MAX_SKEW_S:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {stamp(now - MAX_SKEW_S)} ({stamp(now)} - 15 min.)",
        )
    if signed_at > now + MAX_SKEW_S:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than {stamp(now + MAX_SKEW_S)} "
            f"({stamp(now)} + 15 min.)",
        )


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
