"""Malformed Rekognition requests for the fuzz suite, each a pure function of (seed, index): JSON
bodies to be signed as an SDK signs them, so that they reach the parser.

One member of a valid request replaced by a wrong type, a huge number, NaN or
Infinity, deep nesting, invalid UTF-8, an overlong or unicode string; unknown members; bodies that
are empty, truncated, not an object or have duplicate keys; the wrong content type; base64 garbage
in Image.Bytes; S3Object names that climb out of the bucket or buckets that do not exist.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.model import Shape, StructureShape

from faceindex.api.rekognition.model import service_model
from faceindex.api.rekognition.operations import HANDLERS
from tests.fuzz.images import case_rng

COLLECTION = "fuzz-requests"  # made by the test; no other name here can match another test's collection
USER = "fuzz-user"
ARN = f"arn:aws:rekognition:us-east-1:000000000000:collection/{COLLECTION}"
FACE = "11111111-2222-4333-8444-555555555555"
PHOTO = {"S3Object": {"Bucket": "testdata", "Name": "faces/rose_leslie/1.jpg"}}

BASELINES: dict[str, dict[str, Any]] = {
    "DetectFaces": {"Image": PHOTO},
    "CompareFaces": {"SourceImage": PHOTO, "TargetImage": PHOTO},
    "CreateCollection": {"CollectionId": "fuzz-created"},
    "DeleteCollection": {"CollectionId": "fuzz-absent"},
    "DescribeCollection": {"CollectionId": COLLECTION},
    "ListCollections": {"MaxResults": 5},
    "IndexFaces": {"CollectionId": COLLECTION, "Image": PHOTO, "MaxFaces": 1},
    "ListFaces": {"CollectionId": COLLECTION, "MaxResults": 5},
    "DeleteFaces": {"CollectionId": COLLECTION, "FaceIds": [FACE]},
    "SearchFaces": {"CollectionId": COLLECTION, "FaceId": FACE},
    "SearchFacesByImage": {"CollectionId": COLLECTION, "Image": PHOTO},
    "CreateUser": {"CollectionId": COLLECTION, "UserId": USER},
    "DeleteUser": {"CollectionId": COLLECTION, "UserId": "fuzz-absent"},
    "ListUsers": {"CollectionId": COLLECTION},
    "AssociateFaces": {"CollectionId": COLLECTION, "UserId": USER, "FaceIds": [FACE]},
    "DisassociateFaces": {"CollectionId": COLLECTION, "UserId": USER, "FaceIds": [FACE]},
    "SearchUsers": {"CollectionId": COLLECTION, "UserId": USER},
    "SearchUsersByImage": {"CollectionId": COLLECTION, "Image": PHOTO},
    "TagResource": {"ResourceArn": ARN, "Tags": {"fuzz": "yes"}},
    "UntagResource": {"ResourceArn": ARN, "TagKeys": ["fuzz-absent"]},
    "ListTagsForResource": {"ResourceArn": ARN},
    # stored video: an object that is not there (Start refuses it at once, so no job runs) and a job that is not
    "StartFaceDetection": {"Video": {"S3Object": {"Bucket": "testdata", "Name": "video/fuzz-absent.mp4"}}},
    "StartFaceSearch": {
        "Video": {"S3Object": {"Bucket": "testdata", "Name": "video/fuzz-absent.mp4"}},
        "CollectionId": COLLECTION,
    },
    "GetFaceDetection": {"JobId": "fuzz-absent-job", "MaxResults": 5},
    "GetFaceSearch": {"JobId": "fuzz-absent-job", "SortBy": "INDEX"},
}
assert set(BASELINES) == set(HANDLERS), "every served operation has a baseline request"

# JSON text put where a member's value goes (bytes: some are not valid UTF-8 or not valid JSON)
WRONG_TYPES = {
    "null": b"null", "true": b"true", "0": b"0", "-1": b"-1", "1.5": b"1.5", "a string": b'"fz-string"',
    "an empty string": b'""', "[]": b"[]", "[null]": b"[null]", "{}": b"{}", "an object": b'{"fz": 1}',
}  # fmt: skip
NUMBERS = {
    "10**400": b"1" + b"0" * 400, "1e400": b"1e400", "-1e400": b"-1e400", "1e-400": b"1e-400", "-0": b"-0",
    "2**31": b"2147483648", "2**63": b"9223372036854775808", "-2**63-1": b"-9223372036854775809",
    "NaN": b"NaN", "Infinity": b"Infinity", "-Infinity": b"-Infinity", "-NaN": b"-NaN", "0x10": b"0x10",
}  # fmt: skip
STRINGS = {
    "256 chars": json.dumps("a" * 256).encode(), "1025 chars": json.dumps("b" * 1025).encode(),
    "100k chars": json.dumps("c" * 100_000).encode(), "accents": json.dumps("visage-\u00e9t\u00e9").encode(),
    "emoji": json.dumps("\U0001f600" * 8).encode(), "right-to-left override": json.dumps("a\u202eb").encode(),
    "zero width": json.dumps("a\u200bb").encode(), "NUL": b'"a\\u0000b"', "lone surrogate": b'"a\\ud800b"',
    "invalid UTF-8": b'"\xff\xfe"', "overlong UTF-8": b'"\xc0\xaf"', "UTF-8 surrogate": b'"\xed\xa0\x80"',
    "../../etc/passwd": b'"../../etc/passwd"', "percent escapes": b'"%00%2e%2e%2f"', "CRLF": b'"a\\r\\nb: c"',
    "SQL": json.dumps("x'; DROP TABLE faces; --").encode(), "format codes": b'"%s%n{0}{__class__}"',
}  # fmt: skip


def _deep(rng: random.Random) -> tuple[str, bytes]:
    depth = rng.choice((100, 1000, 10_000, 100_000))
    if rng.random() < 0.5:
        return f"{depth} nested lists", b"[" * depth + b"]" * depth
    return f"{depth} nested objects", b'{"a":' * depth + b"1" + b"}" * depth


VALUE_POOLS: tuple[dict[str, bytes], ...] = (WRONG_TYPES, NUMBERS, STRINGS)

BASE64_GARBAGE = {
    "not base64": "!!!!", "bad padding": "abc", "only padding": "====", "newlines": "/9j/\n4AAQ\n",
    "url-safe alphabet": "_-_-_-_-", "base64 of text": "aGVsbG8gd29ybGQ=", "spaces": "AA AA",
    "a data URL": "data:image/jpeg;base64,/9j/4AAQ", "unicode": "\u00e9\u00e9\u00e9\u00e9",
}  # fmt: skip
S3_NAMES = (
    "../../etc/passwd", "/etc/passwd", "faces/../../../etc/passwd", "faces", "faces/", ".", "..", "a\u0000b",
    "x" * 1024, "faces/obama/5.jpg\u0000.png", "%2e%2e/%2e%2e/etc/passwd", "edge/corrupt/empty.jpg",
    "edge/corrupt/text.jpg", "~root/.ssh/id_rsa", "faces/obama/" + "../obama/" * 50 + "5.jpg", "\U0001f600.jpg",
    "/" * 300, "faces/obama/5.jpg/", "faces/" + "a/" * 500 + "b",
)  # fmt: skip
S3_BUCKETS = ("missing", "TESTDATA", "testdata/..", "a" * 300, "..", "/", "\u00e9", "testdata\u0000")
CONTENT_TYPES = (
    "application/json", "text/plain", "", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/x-amz-json-1.0", "application/x-amz-json-1.1; charset=latin-1", "application/cbor",
)  # fmt: skip


@dataclass(frozen=True)
class RekognitionRequest:
    name: str
    operation: str  # sent as X-Amz-Target: RekognitionService.<operation> unless headers say otherwise
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


_SENTINEL = "\u0000fuzz-value\u0000"
_SENTINEL_JSON = json.dumps(_SENTINEL).encode()


def _with_value(params: dict[str, Any], path: tuple[str | int, ...], literal: bytes) -> bytes:
    """`params` as JSON with the value at `path` replaced by the raw JSON text `literal`."""
    copy = json.loads(json.dumps(params))
    node: Any = copy
    for position, step in enumerate(path):
        if isinstance(node, list):
            assert isinstance(step, int)
            node.extend([None] * (step + 1 - len(node)))
        if position == len(path) - 1:
            node[step] = _SENTINEL
            break
        child = node[step] if isinstance(node, list) else node.get(step)
        if not isinstance(child, (dict, list)):  # made on the way to a member the baseline leaves out
            child = [] if isinstance(path[position + 1], int) else {}
            node[step] = child
        node = child
    return json.dumps(copy).encode().replace(_SENTINEL_JSON, literal)


def member_paths(shape: Shape, prefix: tuple[str | int, ...] = (), depth: int = 3) -> list[tuple[str | int, ...]]:
    """Every member reachable in `depth` steps: structure members, a list's first item, a map's value."""
    if depth == 0:
        return []
    paths: list[tuple[str | int, ...]] = []
    children: list[tuple[str | int, Shape]] = []
    if isinstance(shape, StructureShape):
        children = list(shape.members.items())
    elif shape.type_name == "list":
        children = [(0, shape.member)]  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        children = [("fuzz-key", shape.value)]  # type: ignore[attr-defined]
    for step, child in children:
        paths.append((*prefix, step))
        paths += member_paths(child, (*prefix, step), depth - 1)
    return paths


def _hostile_member(rng: random.Random, operation: str) -> tuple[str, bytes]:
    shape = service_model().operation_model(operation).input_shape
    path = rng.choice(member_paths(shape))
    if rng.random() < 0.15:
        label, literal = _deep(rng)
    else:
        pool = rng.choice(VALUE_POOLS)
        label = rng.choice(sorted(pool))
        literal = pool[label]
    where = ".".join(str(step) for step in path)
    return f"{where} = {label}", _with_value(BASELINES[operation], path, literal)


def _unknown_member(rng: random.Random, operation: str) -> tuple[str, bytes]:
    params = json.loads(json.dumps(BASELINES[operation]))
    nested = [value for value in params.values() if isinstance(value, dict)]
    target = rng.choice(nested) if nested and rng.random() < 0.5 else params
    target[rng.choice(("Bogus", "collectionid", "__proto__", "", "\u00e9"))] = rng.choice((1, "x", None, [], {}))
    return "an unknown member", json.dumps(params).encode()


def _whole_body(rng: random.Random, operation: str) -> tuple[str, bytes]:
    valid = json.dumps(BASELINES[operation]).encode()
    kinds: dict[str, Callable[[], bytes]] = {
        "empty body": lambda: b"",
        "top-level array": lambda: b"[" + valid + b"]",
        "top-level string": lambda: b'"fz"',
        "top-level number": lambda: b"42",
        "top-level null": lambda: b"null",
        "truncated": lambda: valid[: rng.randrange(1, max(2, len(valid)))],
        "bit flips": lambda: bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.05 else b for b in valid),
        "duplicate keys": lambda: valid[:-1] + b", " + valid[1:],
        "trailing garbage": lambda: valid + b" }{ garbage",
        "UTF-16": lambda: json.dumps(BASELINES[operation]).encode("utf-16"),
        "UTF-8 BOM": lambda: b"\xef\xbb\xbf" + valid,
        "100k-entry list": lambda: json.dumps({**BASELINES[operation], "FaceIds": [FACE] * 100_000}).encode(),
    }
    name = rng.choice(sorted(kinds))
    return name, kinds[name]()


def _image_member(rng: random.Random, operation: str) -> tuple[str, bytes]:
    params = json.loads(json.dumps(BASELINES[operation]))
    member = rng.choice(("SourceImage", "TargetImage")) if operation == "CompareFaces" else "Image"
    roll = rng.random()
    if roll < 0.4:
        label = rng.choice(sorted(BASE64_GARBAGE))
        params[member] = {"Bytes": BASE64_GARBAGE[label]}
        return f"{member}.Bytes: {label}", json.dumps(params).encode()
    if roll < 0.8:
        name = rng.choice(S3_NAMES)
        params[member] = {"S3Object": {"Bucket": "testdata", "Name": name}}
        return f"{member}.S3Object.Name = {name[:40]!r}", json.dumps(params).encode()
    bucket = rng.choice(S3_BUCKETS)
    version = rng.choice((None, "", "v" * 2000, "../x"))
    s3 = {"Bucket": bucket, "Name": "faces/obama/5.jpg"} | ({} if version is None else {"Version": version})
    params[member] = {"S3Object": s3}
    return f"{member}.S3Object in bucket {bucket[:20]!r} version {str(version)[:10]!r}", json.dumps(params).encode()


IMAGE_OPERATIONS = ("DetectFaces", "CompareFaces", "IndexFaces", "SearchFacesByImage", "SearchUsersByImage")


def rekognition_request(seed: int, index: int) -> RekognitionRequest:
    rng = case_rng(seed, index, "rekognition-request")
    operation = rng.choice(sorted(HANDLERS))
    prefix = f"rekognition-request seed={seed} index={index}: {operation}"
    roll = rng.random()
    if roll < 0.45:
        label, body = _hostile_member(rng, operation)
    elif roll < 0.55:
        label, body = _unknown_member(rng, operation)
    elif roll < 0.72:
        label, body = _whole_body(rng, operation)
    elif roll < 0.88:
        operation = rng.choice(IMAGE_OPERATIONS)
        prefix = f"rekognition-request seed={seed} index={index}: {operation}"
        label, body = _image_member(rng, operation)
    elif roll < 0.96:
        content_type = rng.choice(CONTENT_TYPES)
        body = json.dumps(BASELINES[operation]).encode()
        return RekognitionRequest(
            f"{prefix} Content-Type {content_type!r}", operation, body, {"Content-Type": content_type}
        )
    else:
        target = rng.choice(("RekognitionService.", "RekognitionService.Nope", "Other.DetectFaces", "DetectFaces"))
        body = json.dumps(BASELINES[operation]).encode()
        return RekognitionRequest(f"{prefix} X-Amz-Target {target!r}", operation, body, {"X-Amz-Target": target})
    return RekognitionRequest(f"{prefix} {label}", operation, body)
