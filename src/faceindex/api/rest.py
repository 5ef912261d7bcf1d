"""A plain REST API under /v1 for callers without an AWS SDK: multipart image upload, JSON bodies,
`application/problem+json` errors, OpenAPI at /docs. Responses have Rekognition's member names.

Authentication: HTTP Basic with an access key (the key id as user name, the secret as password),
checked against the same keys and operation permissions as the Rekognition endpoint. An
`Idempotency-Key` header is Rekognition's ClientRequestToken: a retried user change answers as it first did.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, File, Form, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceindex.api import auth, estimates, logs
from faceindex.api.rekognition import model as rekognition_model
from faceindex.api.state import ServerState
from faceindex.errors import FaceIndexError
from faceindex.service import invoke as door
from faceindex.service.keys import AccessKey

STATUS = {
    "InvalidParameterException": 400,
    "InvalidPaginationTokenException": 400,
    "InvalidImageFormatException": 400,
    "InvalidS3ObjectException": 400,
    "ImageTooLargeException": 413,
    "VideoTooLargeException": 413,
    "ResourceNotFoundException": 404,
    "ResourceAlreadyExistsException": 409,
    "ConflictException": 409,
    "IdempotentParameterMismatchException": 409,
    "ServiceQuotaExceededException": 409,
    "LimitExceededException": 429,  # stored-video jobs in progress at the quota (no queue past it)
    "AccessDeniedException": 403,
    "ThrottlingException": 429,
    "ServiceUnavailableException": 503,
    "Unauthorized": 401,
}


def status_of(code: str) -> int:
    """The HTTP status of an error code: a client's mistake is never a 500 (a new error class defaults to 400)."""
    return STATUS.get(code, 500 if code == "InternalServerError" else 400)


router = APIRouter(prefix="/v1")
IDEMPOTENCY_HEADER = "idempotency-key"  # for CreateUser, DeleteUser, Associate-/DisassociateFaces
ImageFile = Annotated[UploadFile, File(description="a JPEG, PNG, WebP, BMP or GIF image")]
QualityFilter = Literal["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]


class Authentication:
    """Checks a REST caller's credentials from the headers alone, before any body is read or parsed:
    an anonymous upload is answered 401 without being read (and the connection closed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(router.prefix + "/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_state = scope.setdefault("state", {})
        try:
            request_state["rest_key"] = auth.basic(request.app.state.server, request)
        except auth.Unauthorized as error:
            request_state.update(api="rest", outcome="Unauthorized")
            response = unauthorized_response(str(error))
            response.headers["connection"] = "close"  # the body is not read
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def call_door(request: Request, params: dict[str, Any]) -> Response:
    """Hand the route's operation (its operation_id: a Rekognition operation, or faceindex's own) and
    its Rekognition members (None ones dropped) to the service door under the concurrency limit, and
    answer in that operation's response shape, as the Rekognition endpoint does (and /openapi.json says)."""
    state: ServerState = request.app.state.server
    operation: str = request.scope["route"].operation_id
    request.state.api, request.state.operation = "rest", operation
    key: AccessKey | None = request.state.rest_key
    if key is not None:
        request.state.access_key = key.access_key_id
    caller = auth.caller(key, "rest", request)
    members = {name: value for name, value in params.items() if value is not None}
    if token := request.headers.get(IDEMPOTENCY_HEADER):  # the IETF draft's header; the door keeps the answer
        members.setdefault("ClientRequestToken", token)
    invoked: door.Invoked = await state.run(door.invoke, caller, operation, members)
    request.state.outcome = "ok"
    jsonable = invoked.jsonable
    model = rekognition_model.operation(operation)
    shaped = (
        jsonable
        if model is None
        else estimates.merged(rekognition_model.conform(jsonable, model.output_shape), jsonable)
    )
    return JSONResponse(shaped, headers=estimates.headers(jsonable) | door.headers(invoked))


# --- faces ------------------------------------------------------------------------------------


@router.post(
    "/detect",
    tags=["faces"],
    summary="Find and analyse the faces in an image (DetectFaces)",
    operation_id="DetectFaces",
)
async def detect(
    request: Request, image: ImageFile, attributes: Annotated[Literal["DEFAULT", "ALL"], Form()] = "DEFAULT"
) -> Response:
    data = await image.read()
    return await call_door(request, {"Image": {"Bytes": data}, "Attributes": [attributes]})


@router.post(
    "/compare",
    tags=["faces"],
    summary="Compare the largest source face with the target's faces",
    operation_id="CompareFaces",
)
async def compare(
    request: Request,
    source: ImageFile,
    target: ImageFile,
    similarity_threshold: Annotated[float, Form(ge=0, le=100)] = 80.0,
    quality_filter: Annotated[QualityFilter | None, Form()] = None,
) -> Response:
    source_data, target_data = await source.read(), await target.read()
    return await call_door(
        request,
        {
            "SourceImage": {"Bytes": source_data},
            "TargetImage": {"Bytes": target_data},
            "SimilarityThreshold": similarity_threshold,
            "QualityFilter": quality_filter,
        },
    )


# --- collections ------------------------------------------------------------------------------


class JsonBody(BaseModel):
    """A JSON body: each member by its snake_case name or by Rekognition's (`collection_id` or
    `CollectionId`, as responses write it); an unknown member is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


def member(name: str, rekognition: str, description: str, **kwargs: Any) -> Any:
    return Field(
        validation_alias=AliasChoices(name, rekognition), description=f"{description} (or `{rekognition}`)", **kwargs
    )


class NewCollection(JsonBody):
    collection_id: str = member("collection_id", "CollectionId", "[a-zA-Z0-9_.-]+, at most 255 characters")
    tags: dict[str, str] | None = member("tags", "Tags", "key-value pairs to tag it with", default=None)


@router.post(
    "/collections",
    tags=["collections"],
    summary="Create a collection",
    status_code=200,
    operation_id="CreateCollection",
)
async def create_collection(request: Request, body: NewCollection) -> Response:
    return await call_door(request, {"CollectionId": body.collection_id, "Tags": body.tags})


@router.get("/collections", tags=["collections"], summary="List collections", operation_id="ListCollections")
async def list_collections(request: Request, max_results: int | None = None, next_token: str | None = None) -> Response:
    return await call_door(request, {"MaxResults": max_results, "NextToken": next_token})


@router.get(
    "/collections/{collection_id}",
    tags=["collections"],
    summary="Describe a collection",
    operation_id="DescribeCollection",
)
async def describe_collection(request: Request, collection_id: str) -> Response:
    return await call_door(request, {"CollectionId": collection_id})


@router.delete(
    "/collections/{collection_id}",
    tags=["collections"],
    summary="Delete a collection and its faces",
    operation_id="DeleteCollection",
)
async def delete_collection(request: Request, collection_id: str) -> Response:
    return await call_door(request, {"CollectionId": collection_id})


# --- faces in a collection --------------------------------------------------------------------


@router.post(
    "/collections/{collection_id}/faces",
    tags=["collection faces"],
    summary="Index the faces of an image",
    operation_id="IndexFaces",
)
async def index_faces(
    request: Request,
    collection_id: str,
    image: ImageFile,
    external_image_id: Annotated[str | None, Form()] = None,
    max_faces: Annotated[int | None, Form()] = None,
    quality_filter: Annotated[QualityFilter | None, Form()] = None,
    detection_attributes: Annotated[Literal["DEFAULT", "ALL"], Form()] = "DEFAULT",
) -> Response:
    data = await image.read()
    return await call_door(
        request,
        {
            "CollectionId": collection_id,
            "Image": {"Bytes": data},
            "ExternalImageId": external_image_id,
            "MaxFaces": max_faces,
            "QualityFilter": quality_filter,
            "DetectionAttributes": [detection_attributes],
        },
    )


@router.get(
    "/collections/{collection_id}/faces", tags=["collection faces"], summary="List faces", operation_id="ListFaces"
)
async def list_faces(
    request: Request,
    collection_id: str,
    max_results: int | None = None,
    next_token: str | None = None,
    user_id: str | None = None,
) -> Response:
    return await call_door(
        request, {"CollectionId": collection_id, "MaxResults": max_results, "NextToken": next_token, "UserId": user_id}
    )


@router.delete(
    "/collections/{collection_id}/faces/{face_id}",
    tags=["collection faces"],
    summary="Delete a face",
    operation_id="DeleteFaces",
)
async def delete_face(request: Request, collection_id: str, face_id: str) -> Response:
    return await call_door(request, {"CollectionId": collection_id, "FaceIds": [face_id]})


@router.post(
    "/collections/{collection_id}/search",
    tags=["search"],
    summary="Search the collection for the image's largest face",
    operation_id="SearchFacesByImage",
)
async def search_by_image(
    request: Request,
    collection_id: str,
    image: ImageFile,
    max_faces: Annotated[int | None, Form()] = None,
    face_match_threshold: Annotated[float | None, Form()] = None,
    quality_filter: Annotated[QualityFilter | None, Form()] = None,
) -> Response:
    data = await image.read()
    return await call_door(
        request,
        {
            "CollectionId": collection_id,
            "Image": {"Bytes": data},
            "MaxFaces": max_faces,
            "FaceMatchThreshold": face_match_threshold,
            "QualityFilter": quality_filter,
        },
    )


@router.get(
    "/collections/{collection_id}/faces/{face_id}/matches",
    tags=["search"],
    summary="Faces like a stored face",
    operation_id="SearchFaces",
)
async def search_by_face(
    request: Request,
    collection_id: str,
    face_id: str,
    max_faces: int | None = None,
    face_match_threshold: float | None = None,
) -> Response:
    return await call_door(
        request,
        {
            "CollectionId": collection_id,
            "FaceId": face_id,
            "MaxFaces": max_faces,
            "FaceMatchThreshold": face_match_threshold,
        },
    )


# --- erasure ----------------------------------------------------------------------------------


class Erasure(JsonBody):
    collection_id: str | None = member("collection_id", "CollectionId", "only in this collection", default=None)
    external_image_id: str | None = member(
        "external_image_id", "ExternalImageId", "erase the faces indexed with this id", default=None
    )
    user_id: str | None = member("user_id", "UserId", "erase this user and every face of theirs", default=None)


@router.post(
    "/erasure",
    tags=["erasure"],
    summary="Erase a person's faces for good (database, WAL and index snapshots); the audit entry is the receipt",
    operation_id="EraseFaces",
)
async def erase(request: Request, body: Erasure) -> Response:
    return await call_door(
        request,
        {"CollectionId": body.collection_id, "ExternalImageId": body.external_image_id, "UserId": body.user_id},
    )


# --- errors -----------------------------------------------------------------------------------


def problem_response(status: int, code: str, detail: str) -> JSONResponse:
    """RFC 9457 problem details; `code` is the Rekognition error code for the same failure."""
    body = {"type": "about:blank", "title": code, "status": status, "detail": detail, "code": code}
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def unauthorized_response(detail: str) -> JSONResponse:
    response = problem_response(401, "Unauthorized", detail)
    response.headers["WWW-Authenticate"] = 'Basic realm="faceindex"'
    return response


def problem(request: Request, status: int, code: str, detail: str) -> Response:
    request.state.outcome = code
    return problem_response(status, code, detail)


def install(app: FastAPI) -> None:
    from faceindex.api import rest_users, rest_video  # noqa: F401  # their routes join `router`

    app.include_router(router)

    @app.exception_handler(FaceIndexError)
    async def service_error(request: Request, error: FaceIndexError) -> Response:
        return problem(request, status_of(error.code), error.code, error.message)

    @app.exception_handler(auth.Unauthorized)
    async def unauthorized(request: Request, error: auth.Unauthorized) -> Response:
        request.state.outcome = "Unauthorized"
        return unauthorized_response(str(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        codes = {404: "ResourceNotFoundException", 405: "InvalidParameterException"}
        return problem(
            request, error.status_code, codes.get(error.status_code, "InvalidParameterException"), str(error.detail)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        # every problem, a misspelt member first: it explains the "Field required" of the one meant
        found = sorted(error.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        texts = [
            f"{'.'.join(str(part) for part in e.get('loc', ()))}: "
            + ("unknown member" if e.get("type") == "extra_forbidden" else str(e.get("msg", "invalid")))
            for e in found[:3]
        ]
        return problem(request, 400, "InvalidParameterException", "; ".join(texts) or "invalid request")

    app.add_middleware(Faults)


class Faults:
    """A fault (a bug, not bad input) becomes a 500 problem answer here, logged by type with the
    request id. Starlette's own handler for `Exception` re-raises after answering, so uvicorn would
    log a traceback and close the keep-alive connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            request_state = scope.setdefault("state", {})
            logs.SERVER.exception("unexpected error", extra={"fields": {"request_id": request_state.get("request_id")}})
            if scope["type"] != "http" or started:
                raise
            request_state["outcome"] = "InternalServerError"
            response = problem_response(
                500, "InternalServerError", "Internal server error; the request id is in the log."
            )
            await response(scope, receive, send)
