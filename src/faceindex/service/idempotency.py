"""Rekognition's ClientRequestToken: a request retried with its token is not carried out twice.

CreateUser, DeleteUser, AssociateFaces and DisassociateFaces take a token, and boto3 and the other
AWS SDKs fill one in on every call, so that a retry after a lost response (a timeout, a dropped
connection) gets the first response again instead of ConflictException or ResourceNotFound. Only
successful responses are remembered: a request that failed may be retried and carried out. A token
reused with different parameters is IdempotentParameterMismatchException, as in Rekognition.
Responses name FaceIds and UserIds (never images or descriptors); deleting the collection or the
user deletes them too.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from faceindex.errors import IdempotentParameterMismatch, InvalidParameter
from faceindex.service.container import Services
from faceindex.store.records import RecordedRequest

TOKEN_LIFETIME_S = 24 * 3600  # how long a token is remembered; SDK retries come within minutes
TOKEN_MEMBER = "ClientRequestToken"
TOKEN_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # Rekognition's pattern and length


def once(
    services: Services,
    operation: str,
    params: dict[str, Any],
    run: Callable[[], dict[str, Any]],
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """`run()`'s JSON-able response, or the response remembered for the request's token. The service door
    calls it inside an eager store transaction, so two deliveries of one request (a client that timed out
    and retried while the first still ran) are not both carried out, even by two processes."""
    token = params.get(TOKEN_MEMBER)
    if not token:
        return run()
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        raise InvalidParameter(f"{TOKEN_MEMBER} must be 1 to 64 of a-z, A-Z, 0-9, '-' and '_'")
    others = {name: value for name, value in params.items() if name != TOKEN_MEMBER}
    digest = hashlib.sha256(json.dumps(others, sort_keys=True, default=str).encode()).hexdigest()
    now = clock()
    recorded = services.store.recorded_response(operation, token, since=now - TOKEN_LIFETIME_S)
    if recorded is not None:
        first_digest, response = recorded
        if first_digest != digest:
            raise IdempotentParameterMismatch(
                f"ClientRequestToken {token!r} was used with other parameters in an earlier {operation} request"
            )
        remembered: dict[str, Any] = json.loads(response)
        return remembered
    answer = run()
    request = RecordedRequest(operation, token, str(params.get("CollectionId", "")), params.get("UserId"), digest)
    services.store.record_response(request, json.dumps(answer), forget_before=now - TOKEN_LIFETIME_S, now=now)
    return answer
