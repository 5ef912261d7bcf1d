"""A refusal in the caller's dialect, for the layers that answer before any route runs (body intake,
timeouts, shutdown): AWS JSON on the Rekognition endpoint `/`, problem+json elsewhere. Each one
closes the connection after it, since the rest of the request is not read."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Message, Scope, Send

from faceindex.api import rest
from faceindex.api.rekognition import protocol


def refusal(scope: Scope, code: str, message: str, *, status: int, rest_status: int | None = None) -> Response:
    """`status` on the Rekognition endpoint (AWS JSON errors are 400 but for a few), `rest_status` elsewhere."""
    state = scope.setdefault("state", {})
    state["outcome"] = code  # for the access log (app.RequestLog)
    if scope.get("path") == "/":
        state["api"] = "rekognition"
        response: Response = protocol.error_response(code, message, status)
    else:
        response = rest.problem_response(rest_status or status, code, message)
        if response.status_code == 503:
            response.headers["retry-after"] = "1"
    response.headers["connection"] = "close"
    return response


async def send_refusal(
    scope: Scope, send: Send, code: str, message: str, *, status: int, rest_status: int | None = None
) -> None:
    await refusal(scope, code, message, status=status, rest_status=rest_status)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
