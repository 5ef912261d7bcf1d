"""The API docs a new user reads: Swagger UI at /docs and ReDoc at /redoc, their JavaScript and CSS
served from the pinned fastapi-offline package (a CDN would leave the page blank without the
internet), and an OpenAPI document that says

- what each REST operation answers: Rekognition's response shape, built from botocore's model (the
  REST API projects its answers onto the same shapes, `rest.call_door`);
- how to authenticate: HTTP Basic with an access key (Swagger UI's Authorize button);
- which problem+json errors it may return, by status, with the Rekognition error codes behind them;
  and no 422: FastAPI's validation errors are answered 400 InvalidParameterException here.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.model import Shape, StructureShape
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from faceindex.api.rekognition.model import operation

ASSETS = "/docs/assets"  # Swagger UI's and ReDoc's files, from the fastapi-offline package
BASIC = {
    "type": "http",
    "scheme": "basic",
    "description": "An access key (`faceindex keys create`): the key id as user name, the secret as password.",
}
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is Rekognition's error code for the same failure.",
    "properties": {
        "type": {"type": "string", "examples": ["about:blank"]},
        "title": {"type": "string", "description": "the same as `code`"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what was wrong, for a person to read"},
        "code": {"type": "string", "examples": ["InvalidParameterException"]},
    },
    "required": ["type", "title", "status", "detail", "code"],
}
ALWAYS = ("InvalidParameterException", "ThrottlingException", "ServiceUnavailableException")
SIGNED = ("Unauthorized", "AccessDeniedException")
_TAG = re.compile(r"<[^>]+>")


def documented_app(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc load nothing from outside the server."""
    return FastAPIOffline(docs_url="/docs", redoc_url="/redoc", static_url=ASSETS, **kwargs)


def document(app: FastAPI, statuses: dict[str, int], signed: bool, metrics_signed: bool) -> dict[str, Any]:
    """The OpenAPI document of `app` (built once). `statuses` maps error codes to REST statuses."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
        )
        schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas["Problem"] = PROBLEM
        if signed:
            spec["components"]["securitySchemes"] = {"basic": BASIC}
        for path, methods in spec["paths"].items():
            for op in methods.values():
                op["responses"].pop("422", None)
                if path.startswith("/v1/"):
                    _describe_rest(op, schemas, statuses, signed)
                elif path == "/metrics" and metrics_signed:
                    op["security"] = [{"basic": []}]
                    op["responses"]["401"] = _problem("Unauthorized")
        app.openapi_schema = spec
    return app.openapi_schema


def _describe_rest(op: dict[str, Any], schemas: dict[str, Any], statuses: dict[str, int], signed: bool) -> None:
    model = operation(op["operationId"])
    if model is None:  # faceindex's own operation
        own = OWN_OPERATIONS[op["operationId"]]
        schemas.update(own["schemas"])
        schema = {"$ref": f"#/components/schemas/{op['operationId']}Response"}
        op["responses"]["200"] = {
            "description": own["description"],
            "content": {"application/json": {"schema": schema}},
        }
        errors = own["errors"]
    else:
        assert model.output_shape is not None, op["operationId"]
        op["responses"]["200"] = {
            "description": f"Rekognition's {model.output_shape.name}",
            "content": {"application/json": {"schema": _schema(model.output_shape, schemas)}},
        }
        errors = [error.name for error in model.error_shapes]
    codes = [*ALWAYS, *(SIGNED if signed else ()), *errors]
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):  # in order, once each
        if code in statuses:
            by_status.setdefault(statuses[code], []).append(code)
    for status, named in sorted(by_status.items()):
        op["responses"][str(status)] = _problem(", ".join(named))
    if signed:
        op["security"] = [{"basic": []}]


_ERASED_FACE = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in ("CollectionId", "FaceId", "ExternalImageId", "UserId")},
    "required": ["CollectionId", "FaceId"],
}
OWN_OPERATIONS: dict[str, dict[str, Any]] = {
    "EraseFaces": {
        "description": "The faces erased (the call's audit entry is the receipt)",
        "schemas": {
            "ErasedFace": _ERASED_FACE,
            "EraseFacesResponse": {
                "type": "object",
                "properties": {
                    "ErasedFaces": {"type": "array", "items": {"$ref": "#/components/schemas/ErasedFace"}},
                    "ErasedFaceCount": {"type": "integer"},
                },
                "required": ["ErasedFaces", "ErasedFaceCount"],
            },
        },
        "errors": ["InvalidParameterException", "ResourceNotFoundException", "AccessDeniedException"],
    }
}


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {"application/problem+json": {"schema": schema}}}


def _schema(shape: Shape, schemas: dict[str, Any]) -> dict[str, Any]:
    """A botocore shape as JSON Schema; structures become named components (their botocore names)."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if shape.name not in schemas:
            schemas[shape.name] = {}  # taken before the members are built: a shape may contain itself
            body: dict[str, Any] = {"type": "object", "properties": {}}
            for name, member in shape.members.items():
                body["properties"][name] = _member(member, schemas)
            if shape.required_members:
                body["required"] = list(shape.required_members)
            if summary := _summary(shape.documentation):
                body["description"] = summary
            schemas[shape.name] = body
        return {"$ref": f"#/components/schemas/{shape.name}"}
    if kind == "list":
        return {"type": "array", "items": _schema(shape.member, schemas)}
    if kind == "map":
        return {"type": "object", "additionalProperties": _schema(shape.value, schemas)}
    if kind == "string":
        return {"type": "string", "enum": list(shape.enum)} if shape.enum else {"type": "string"}
    if kind == "timestamp":
        return {"type": "number", "description": "seconds since 1970-01-01 UTC"}
    if kind == "blob":
        return {"type": "string", "contentEncoding": "base64"}
    return {"type": {"integer": "integer", "long": "integer", "boolean": "boolean"}.get(kind, "number")}


def _member(member: Shape, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = _schema(member, schemas)
    summary = _summary(member.documentation)
    return {**schema, "description": summary} if summary and "description" not in schema else schema


def _summary(documentation: str) -> str:
    """botocore's HTML documentation, first sentence, as text."""
    text = " ".join(_TAG.sub(" ", documentation or "").split())
    first, dot, _ = text.partition(". ")
    return first + "." if dot else text
