"""`POST /` with `X-Amz-Target: RekognitionService.<Operation>`: AWS JSON 1.1 as the SDKs speak it.

Order of checks, as AWS does them: body size, signature, target, permission, JSON, parameters.
Errors are `{"__type": code, "Message": text}` with status 400 (500 only for a real fault), and
every response carries `x-amzn-RequestId`.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from faceindex.api import auth, estimates, logs
from faceindex.api.rekognition import model, sigv4
from faceindex.api.state import ServerState
from faceindex.errors import FaceIndexError
from faceindex.service import invoke as door
from faceindex.service.operations import REKOGNITION

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "RekognitionService."


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


async def endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.server
    operation, outcome, key = _operation_name(request), "ok", None
    try:
        body = await request.body()  # within the size limit: app.BodyLimit refused larger ones
        key = auth.sigv4_key(state, request, body)
        operation_model = _operation(request)
        caller = auth.caller(key, "rekognition", request)
        if (refused := door.refusal(caller, operation)) is not None:  # before the body is parsed, as AWS does
            await anyio.to_thread.run_sync(door.audit_refusal, state.services, caller, operation, refused)
            raise refused
        try:
            params: Any = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):  # nested past the interpreter's depth
            raise model.SerializationError("The request body is not valid JSON.") from None
        decoded = model.decode_input(params, operation_model)
        invoked: door.Invoked = await state.run(door.invoke, caller, operation, decoded)
        jsonable = invoked.jsonable
        payload = model.conform(jsonable, operation_model.output_shape)
        extra = estimates.headers(jsonable) | door.headers(invoked)
        response = Response(json.dumps(payload), media_type=CONTENT_TYPE, headers=extra)
    except sigv4.AuthError as error:
        outcome = error.code
        response = error_response(error.code, error.message, error.status)
    except ProtocolError as error:
        outcome = error.code
        response = error_response(error.code, error.message, error.status)
    except FaceIndexError as error:
        outcome = error.code
        status = {"InternalServerError": 500, "ServiceUnavailableException": 503}.get(error.code, 400)
        response = error_response(error.code, error.message, status)
    except Exception:
        logs.SERVER.exception("unexpected error", extra={"fields": {"request_id": request.state.request_id}})
        outcome = "InternalServerError"
        response = error_response(outcome, "Internal server error; the request id is in the server's log.", 500)
    # for the access log and the metrics (app.RequestLog)
    request.state.api = "rekognition"
    request.state.operation = operation if model.operation(operation) else "-"
    request.state.outcome = outcome
    request.state.access_key = key.access_key_id if key else None
    return response


def _operation_name(request: Request) -> str:
    target = request.headers.get("x-amz-target", "")
    return target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""


def _operation(request: Request) -> Any:
    target = request.headers.get("x-amz-target", "")
    name = _operation_name(request)
    operation_model = model.operation(name) if name else None
    if operation_model is None:
        raise ProtocolError(
            "UnknownOperationException", f"Unknown operation {target!r}." if target else "Missing X-Amz-Target."
        )
    if name not in REKOGNITION:
        raise ProtocolError(
            "UnsupportedOperationException",
            f"faceindex does not support the Rekognition operation {name}; "
            "see docs/rekognition-compatibility.md for the operations it serves.",
        )
    return operation_model


def error_response(code: str, message: str, status: int) -> Response:
    body = json.dumps({"__type": code, "Message": message})
    return Response(body, status_code=status, media_type=CONTENT_TYPE, headers={"x-amzn-ErrorType": code})
