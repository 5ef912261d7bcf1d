"""Malformed REST /v1 requests for the fuzz suite, each a pure function of (seed, index): mutated images
and broken multipart bodies, bad form values, malformed JSON, bad query strings and hostile paths.
The test adds HTTP Basic credentials.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tests.fuzz.images import Source, case_rng, image_case
from tests.fuzz.malformed import FACE, USER, WRONG_TYPES

REST_COLLECTION = "fuzz-rest"


@dataclass(frozen=True)
class RestRequest:
    name: str
    method: str
    path: str  # percent-encoded as sent
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "fuzzboundary") -> bytes:
    """(field name, file name or None, content) as multipart/form-data."""
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


FORM = {"Content-Type": "multipart/form-data; boundary=fuzzboundary"}
IMAGE_ROUTES = {
    "/v1/detect": ("image",),
    "/v1/compare": ("source", "target"),
    f"/v1/collections/{REST_COLLECTION}/faces": ("image",),
    f"/v1/collections/{REST_COLLECTION}/search": ("image",),
    f"/v1/collections/{REST_COLLECTION}/users/search": ("image",),
}
FORM_FIELDS = {
    "attributes": (b"BOGUS", b"", b"ALL" * 1000),
    "max_faces": (b"abc", b"-1", b"1" + b"0" * 30, b"NaN", b""),
    "quality_filter": (b"xx", b"none", b""),
    "similarity_threshold": (b"nan", b"inf", b"-inf", b"1e400", b"101", b"-0"),
    "face_match_threshold": (b"nan", b"inf", b"1e400", b"-5"),
    "user_match_threshold": (b"nan", b"infinity"),
    "external_image_id": ("\u00e9t\u00e9".encode(), b"a" * 300, b"\xff\xfe", b""),
    "max_users": (b"0", b"1" + b"0" * 30),
}
JSON_ROUTES = {
    "/v1/collections": {"collection_id": "fuzz-rest-created"},
    f"/v1/collections/{REST_COLLECTION}/users": {"user_id": "fuzz-rest-user"},
    f"/v1/collections/{REST_COLLECTION}/users/fuzz-rest-user/associate": {"face_ids": [FACE]},
    f"/v1/collections/{REST_COLLECTION}/users/fuzz-rest-user/disassociate": {"face_ids": [FACE]},
}
QUERY_ROUTES = (
    "/v1/collections", f"/v1/collections/{REST_COLLECTION}/faces", f"/v1/collections/{REST_COLLECTION}/users",
    f"/v1/collections/{REST_COLLECTION}/faces/{FACE}/matches",
    f"/v1/collections/{REST_COLLECTION}/users/{USER}/matches",
)  # fmt: skip
QUERY_VALUES = (
    "abc", "-1", "1" + "0" * 30, "NaN", "inf", "", "%00", "%ff%fe", "%F0%9F%98%80", "a" * 5000, "1&max_results=2",
)  # fmt: skip
QUERY_PARAMS = ("max_results", "next_token", "user_id", "max_faces", "face_match_threshold", "max_users")
PATH_IDS = (
    "%2e%2e", "%ff", "a%00b", "caf%C3%A9", "x" * 300, "%F0%9F%98%80", "..%2f..%2fkeys", "%252e", "a%20b", "%0d%0a",
)  # fmt: skip


def _rest_image(rng: random.Random, seed: int, index: int, sources: list[Source]) -> RestRequest:
    route = rng.choice(sorted(IMAGE_ROUTES))
    case = image_case(seed, index, sources, stream="rest-image")
    parts = [(name, "upload.bin", case.data) for name in IMAGE_ROUTES[route]]
    return RestRequest(f"POST {route} with {case.name}", "POST", route, multipart(parts), FORM)


def _rest_form(rng: random.Random, sources: list[Source]) -> RestRequest:
    route = rng.choice(sorted(IMAGE_ROUTES))
    photo = sources[0][1]
    parts = [(name, "photo.jpg", photo) for name in IMAGE_ROUTES[route]]
    kinds: dict[str, Callable[[], tuple[bytes, dict[str, str]]]] = {
        "no file part": lambda: (multipart([("other", None, b"x")]), FORM),
        "an empty file": lambda: (multipart([(name, "empty.jpg", b"") for name in IMAGE_ROUTES[route]]), FORM),
        "the file as a plain field": lambda: (multipart([(name, None, photo) for name in IMAGE_ROUTES[route]]), FORM),
        "two files in one field": lambda: (multipart(parts + parts), FORM),
        "no boundary": lambda: (multipart(parts), {"Content-Type": "multipart/form-data"}),
        "another boundary": lambda: (multipart(parts), {"Content-Type": "multipart/form-data; boundary=other"}),
        "truncated": lambda: (multipart(parts)[: rng.randrange(10, 4000)], FORM),
        "no closing boundary": lambda: (multipart(parts)[:-20], FORM),
        "JSON instead": lambda: (b'{"image": "AAAA"}', {"Content-Type": "application/json"}),
        "url-encoded": lambda: (b"image=%FF%D8", {"Content-Type": "application/x-www-form-urlencoded"}),
        "no content type": lambda: (multipart(parts), {}),
        "3000 fields": lambda: (multipart(parts + [("f", None, b"1")] * 3000), FORM),
        "a 100 kB field name": lambda: (multipart([*parts, ("n" * 100_000, None, b"1")]), FORM),
        "a part without headers": lambda: (b"--fuzzboundary\r\n\r\nxx\r\n--fuzzboundary--\r\n", FORM),
        "a bad form value": lambda: _bad_form_value(rng, parts),
    }
    name = rng.choice(sorted(kinds))
    body, headers = kinds[name]()
    return RestRequest(f"POST {route} with {name}", "POST", route, body, headers)


def _bad_form_value(rng: random.Random, parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    field_name = rng.choice(sorted(FORM_FIELDS))
    value = rng.choice(FORM_FIELDS[field_name])
    return multipart([*parts, (field_name, None, value)]), FORM


def _rest_json(rng: random.Random) -> RestRequest:
    route = rng.choice(sorted(JSON_ROUTES))
    valid = json.dumps(JSON_ROUTES[route]).encode()
    member = next(iter(JSON_ROUTES[route]))
    kinds: dict[str, Callable[[], bytes]] = {
        "empty": lambda: b"",
        "truncated": lambda: valid[: rng.randrange(1, len(valid))],
        "a top-level array": lambda: b"[" + valid + b"]",
        "NaN": lambda: f'{{"{member}": NaN}}'.encode(),
        "a huge number": lambda: f'{{"{member}": 1{"0" * 400}}}'.encode(),
        "deep nesting": lambda: f'{{"{member}": '.encode() + b"[" * 50_000 + b"]" * 50_000 + b"}",
        "invalid UTF-8": lambda: f'{{"{member}": "'.encode() + b"\xff\xfe" + b'"}',
        "a lone surrogate": lambda: f'{{"{member}": "\\ud800"}}'.encode(),
        "a wrong type": lambda: f'{{"{member}": {rng.choice(list(WRONG_TYPES.values())).decode()}}}'.encode(),
        "unknown members": lambda: valid[:-1] + b', "bogus": {"x": [1, 2]}}',
        "tags that are not strings": lambda: b'{"collection_id": "fuzz-rest-tags", "tags": {"a": [1]}}',
        "a tag with a lone surrogate": lambda: b'{"collection_id": "fuzz-rest-tags", "tags": {"k": "\\udc00"}}',
    }
    name = rng.choice(sorted(kinds))
    content_type = rng.choice(("application/json", "application/json", "text/plain", "application/json; charset=x"))
    return RestRequest(
        f"POST {route} with {name} ({content_type})", "POST", route, kinds[name](), {"Content-Type": content_type}
    )


def _rest_query(rng: random.Random) -> RestRequest:
    route = rng.choice(QUERY_ROUTES)
    query = "&".join(f"{rng.choice(QUERY_PARAMS)}={rng.choice(QUERY_VALUES)}" for _ in range(rng.randint(1, 3)))
    return RestRequest(f"GET {route}?{query[:80]}", "GET", f"{route}?{query}")


def _rest_path(rng: random.Random) -> RestRequest:
    hostile = rng.choice(PATH_IDS)
    templates = (
        "/v1/collections/{}", "/v1/collections/{}/faces", f"/v1/collections/{REST_COLLECTION}/faces/{{}}/matches",
        f"/v1/collections/{REST_COLLECTION}/users/{{}}/matches", "/v1//collections/{}", "/v1/collections/{}/users",
    )  # fmt: skip
    path = rng.choice(templates).format(hostile)
    method = rng.choice(("GET", "GET", "PUT", "PATCH", "OPTIONS", "POST"))
    return RestRequest(f"{method} {path[:80]}", method, path)


def rest_request(seed: int, index: int, sources: list[Source]) -> RestRequest:
    rng = case_rng(seed, index, "rest-request")
    roll = rng.random()
    if roll < 0.3:
        request = _rest_image(rng, seed, index, sources)
    elif roll < 0.55:
        request = _rest_form(rng, sources)
    elif roll < 0.75:
        request = _rest_json(rng)
    elif roll < 0.9:
        request = _rest_query(rng)
    else:
        request = _rest_path(rng)
    return replace(request, name=f"rest-request seed={seed} index={index}: {request.name}")
