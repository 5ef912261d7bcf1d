"""Server pieces without a live server: SigV4 canonicalisation, the signing regions, the compatibility doc
(settings files: tests/test_config.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from faceindex.api.rekognition.sigv4 import AuthError, SignedRequest, verify
from faceindex.config import Settings
from faceindex.service.keys import AccessKey
from faceindex.service.operations import REKOGNITION
from faceindex.service.policy import Grants

ROOT = Path(__file__).resolve().parents[2]
KEY = AccessKey("FIAKTESTTESTTESTTEST", "s3cr3t/with+chars=" * 2, "test", ("*",), Grants.everything())


def _signed(method: str, url: str, body: bytes, headers: dict[str, str]) -> SignedRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(KEY.access_key_id, KEY.secret_access_key), "rekognition", "eu-west-3").add_auth(request)
    path, _, query = url.split("/", 3)[-1].partition("?")
    headers = [(k.lower(), v) for k, v in request.headers.items() if k.lower() != "host"]
    return SignedRequest(method, "/" + path, query, [*headers, ("host", "h:1")], body)


@pytest.mark.parametrize(
    "url",
    ["http://h:1/", "http://h:1/v1/collections/a%20b?z=1&a=2&a=1&empty=", "http://h:1/x~y/%C3%A9?q=%2F%20"],
)
def test_botocore_signatures_verify(url: str) -> None:
    request = _signed("POST", url, b'{"a": 1}', {"Content-Type": "application/x-amz-json-1.1"})
    lookup = lambda key_id: KEY if key_id == KEY.access_key_id else None  # noqa: E731
    assert verify(request, lookup, "rekognition", {"eu-west-3"}) == KEY
    with pytest.raises(AuthError, match="scoped to a valid region, not 'eu-west-3'"):
        verify(request, lookup, "rekognition", {"us-east-1"})


def test_a_changed_header_or_body_fails() -> None:
    request = _signed("POST", "http://h:1/", b"{}", {"Content-Type": "application/x-amz-json-1.1"})
    changed = SignedRequest(request.method, request.raw_path, request.query, request.headers, b"{ }")
    with pytest.raises(AuthError) as caught:
        verify(changed, lambda _: KEY, "rekognition", {"eu-west-3"})
    assert caught.value.code == "InvalidSignatureException"
    headers = [(k, "text/plain" if k == "content-type" else v) for k, v in request.headers]
    with pytest.raises(AuthError):
        verify(SignedRequest("POST", "/", "", headers, b"{}"), lambda _: KEY, "rekognition", {"eu-west-3"})


def test_the_signature_must_cover_target_content_type_and_date() -> None:
    for name in ("X-Amz-Target", "Content-Type"):
        request = _signed("POST", "http://h:1/", b"{}", {"Content-Type": "application/x-amz-json-1.1"})
        if name == "X-Amz-Target":  # added after signing
            request = SignedRequest("POST", "/", "", [*request.headers, ("x-amz-target", "X.Y")], b"{}")
        else:  # signed without it, then sent with it
            unsigned = _signed("POST", "http://h:1/", b"{}", {})
            request = SignedRequest("POST", "/", "", [*unsigned.headers, ("content-type", "text/plain")], b"{}")
        with pytest.raises(AuthError, match=f"'{name}' must be a 'SignedHeader'"):
            verify(request, lambda _: KEY, "rekognition", {"eu-west-3"})


def test_signing_regions_setting() -> None:
    assert Settings().accepted_regions() == {"us-east-1"}
    assert Settings(region="eu-west-3").accepted_regions() == {"eu-west-3"}
    assert Settings(signing_regions="us-east-1, eu-west-1").accepted_regions() == {"us-east-1", "eu-west-1"}


def test_compatibility_matrix_is_generated_and_current() -> None:
    done = subprocess.run([sys.executable, "scripts/rekognition_compat.py", "--check"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    rows = [line for line in (ROOT / "docs/rekognition-compatibility.md").read_text().splitlines() if line[:2] == "| "]
    served = len(REKOGNITION)  # every operation the service door serves on the wire, no more
    assert len(rows) == 1 + 75 and sum(" | yes | " in row for row in rows) == served >= 25


def test_responses_are_projected_onto_the_output_shape() -> None:
    from faceindex.api.rekognition.model import conform, operation

    compare = operation("CompareFaces")
    assert compare is not None
    face = {"BoundingBox": {"Width": 0.5, "Height": 0.5, "Left": 0, "Top": 0}, "Confidence": 99, "EyesOpen": {}}
    shaped = conform({"SourceImageFace": face, "FaceMatches": [], "UnmatchedFaces": [face]}, compare.output_shape)
    assert shaped["SourceImageFace"] == {"BoundingBox": face["BoundingBox"], "Confidence": 99.0}
    assert "EyesOpen" not in shaped["UnmatchedFaces"][0]  # ComparedFace has no EyesOpen
    describe = operation("DescribeCollection")
    assert describe is not None
    out = conform({"FaceCount": 3, "CreationTimestamp": 1.5e9, "UserCount": 0}, describe.output_shape)
    assert out == {"FaceCount": 3, "CreationTimestamp": 1.5e9, "UserCount": 0}
    pose = conform(
        {"Roll": float("nan"), "Yaw": 2},
        operation("DetectFaces").output_shape.members["FaceDetails"].member.members["Pose"],
    )  # type: ignore[union-attr]
    assert pose == {"Roll": 0.0, "Yaw": 2.0}


def test_a_fault_is_a_500_problem_logged_by_type_and_the_connection_stays_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Starlette's handler for Exception re-raises after answering (uvicorn then logs a traceback and
    closes the connection); rest.Faults answers and returns."""
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    from faceindex.api import logs, rest

    app = FastAPI()

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug that quotes secret data")

    rest.install(app)
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "InternalServerError"
    record = next(r for r in caplog.records if r.name == "faceindex.api")
    line = logs.JsonFormatter().format(record)
    assert '"exception": "RuntimeError"' in line and "secret data" not in line and "Traceback" not in line
