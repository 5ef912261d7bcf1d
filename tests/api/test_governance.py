"""Issue 13 through a live server: permissions by class, collection limits, threshold floors, required
purposes, the audit entries they leave (boto3, the REST API and the CLI), and a member the wire must refuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import httpx
import pytest

from tests.api.live import LiveServer
from tests.api.test_protocol_negative import send, signed


def key_with(server: LiveServer, *options: str) -> tuple[str, str]:
    done = server.cli("keys", "create", "--json", *options)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    return created["AccessKeyId"], created["SecretAccessKey"]


def audit(server: LiveServer, *filters: str) -> list[dict[str, Any]]:
    done = server.cli("audit", "export", *filters)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def denied(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(*args, **kwargs)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    return str(caught.value.response["Error"]["Message"])


@pytest.fixture(scope="module")
def gallery(server: LiveServer, admin_key: tuple[str, str], testdata: Path) -> str:
    client = server.client(admin_key)
    client.create_collection(CollectionId="governed")
    for person in ("obama", "biden"):
        image = {"Bytes": (testdata / f"faces/{person}/1.jpg").read_bytes()}
        client.index_faces(CollectionId="governed", Image=image, ExternalImageId=person)
    return "governed"


def test_a_key_gets_the_classes_it_was_allowed_and_refusals_name_the_missing_one(
    server: LiveServer, gallery: str, testdata: Path
) -> None:
    key = key_with(server, "--allow", "detect,compare", "--name", "door camera")
    client = server.client(key)
    photo = {"Bytes": (testdata / "faces/obama/2.jpg").read_bytes()}
    assert client.detect_faces(Image=photo)["FaceDetails"]
    assert client.compare_faces(SourceImage=photo, TargetImage=photo)["FaceMatches"]
    message = denied(client.search_faces_by_image, CollectionId=gallery, Image=photo)
    assert "'identify' permission" in message and "rekognition:SearchFacesByImage" in message
    assert "'manage' permission" in denied(client.index_faces, CollectionId=gallery, Image=photo)
    assert "'manage' permission" in denied(client.list_collections)

    with httpx.Client(base_url=server.url, auth=key, timeout=120) as rest:  # the same key over REST: 403
        refused = rest.post(f"/v1/collections/{gallery}/search", files={"image": ("a.jpg", photo["Bytes"])})
    assert refused.status_code == 403 and "'identify' permission" in refused.json()["detail"]

    entries = audit(server, "--key", key[0])
    refusals = [e for e in entries if e["outcome"] == "AccessDeniedException"]
    assert {e["operation"] for e in refusals} >= {"SearchFacesByImage", "IndexFaces"}
    assert {e["channel"] for e in refusals} == {"rekognition", "rest"}
    done = [e for e in entries if e["outcome"] == "ok"]
    assert [e["operation"] for e in done] == ["DetectFaces", "CompareFaces"]


def test_a_key_limited_to_collections_stays_in_them(server: LiveServer, gallery: str, testdata: Path) -> None:
    key = key_with(server, "--allow", "identify,manage", "--collections", gallery)
    client = server.client(key)
    photo = {"Bytes": (testdata / "faces/obama/2.jpg").read_bytes()}
    assert client.search_faces_by_image(CollectionId=gallery, Image=photo)["FaceMatches"]
    assert "limited to the collections governed" in denied(client.create_collection, CollectionId="elsewhere")


def test_floors_raise_a_low_threshold_and_say_so(server: LiveServer, gallery: str, testdata: Path) -> None:
    key = key_with(server, "--allow", "identify", "--min-similarity", "99.5")
    body = json.dumps(
        {"CollectionId": gallery, "Image": {"Bytes": _b64(testdata / "faces/obama/2.jpg")}, "FaceMatchThreshold": 70}
    )
    status, answer, headers = send(signed(server, key, "SearchFacesByImage", body))
    assert status == 200
    assert headers["x-faceindex-threshold-requested"] == "70" and headers["x-faceindex-threshold-applied"] == "99.5"
    assert all(match["Similarity"] >= 99.5 for match in answer["FaceMatches"])
    [entry] = audit(server, "--key", key[0])
    assert entry["threshold"] == {"asked": 70.0, "applied": 99.5}
    assert entry["face_matches"] == len(answer["FaceMatches"])

    # the collection's floor applies to every key, here one without its own
    assert server.cli("collection", "policy", gallery, "--min-similarity", "99").returncode == 0
    other = key_with(server, "--allow", "identify")
    status, _, headers = send(signed(server, other, "SearchFacesByImage", body))
    assert status == 200 and headers["x-faceindex-threshold-applied"] == "99"
    [entry] = audit(server, "--key", other[0])
    assert entry["threshold"] == {"asked": 70.0, "applied": 99.0}
    assert server.cli("collection", "policy", gallery, "--min-similarity", "0").returncode == 0


def test_a_collection_can_require_a_purpose_which_boto3_sends_in_a_header(
    server: LiveServer, gallery: str, testdata: Path
) -> None:
    assert server.cli("collection", "policy", gallery, "--require-purpose").returncode == 0
    try:
        key = key_with(server, "--allow", "identify")
        client = server.client(key)
        photo = {"Bytes": (testdata / "faces/obama/2.jpg").read_bytes()}
        assert "requires a purpose" in denied(client.search_faces_by_image, CollectionId=gallery, Image=photo)

        def add_purpose(request: Any, **_: Any) -> None:  # docs/responsible-use.md shows this hook
            request.headers["X-Faceindex-Purpose"] = "case 2026-114: door access review"

        client.meta.events.register_first("before-sign.rekognition.SearchFacesByImage", add_purpose)
        assert client.search_faces_by_image(CollectionId=gallery, Image=photo)["FaceMatches"]
        purposed = key_with(server, "--allow", "identify", "--purpose", "attendance")
        assert server.client(purposed).search_faces_by_image(CollectionId=gallery, Image=photo)["FaceMatches"]
        stated = [e.get("purpose") for e in audit(server, "--collection", gallery, "--operation", "SearchFacesByImage")]
        assert "case 2026-114: door access review" in stated and "attendance" in stated
    finally:
        assert server.cli("collection", "policy", gallery, "--no-require-purpose").returncode == 0


def test_the_wire_refuses_a_local_path_for_an_image(server: LiveServer, admin_key: tuple[str, str]) -> None:
    """Image.Path is the CLI's own member (a local file); over the wire it must be refused, not read."""
    body = json.dumps({"Image": {"Path": "/etc/passwd"}})
    status, answer, _ = send(signed(server, admin_key, "DetectFaces", body))
    assert status == 400 and answer["__type"] in ("InvalidParameterException", "ValidationException")


def test_the_audit_log_of_the_server_verifies_and_never_holds_secrets(server: LiveServer, gallery: str) -> None:
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact" in verified.stdout
    exported = server.cli("audit", "export").stdout
    created = [e for e in map(json.loads, exported.splitlines()) if e["operation"] == "CreateAccessKey"]
    assert created and all("access_key_id" in e for e in created)
    for line in server.cli("keys", "list", "--json").stdout.splitlines():
        assert "SecretAccessKey" not in line
    assert "SecretAccessKey" not in exported and '"Bytes"' not in exported


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode()


def test_the_server_erases_faces_past_retention_and_rest_erases_on_request(
    tmp_path: Path, cache: Path, testdata: Path
) -> None:
    import sqlite3
    import time

    from tests.api.live import start_server

    server = start_server(tmp_path / "data", cache, {"FACEINDEX_HOUSEKEEPING_S": "1"})
    try:
        key = server.new_key()
        client = server.client(key)
        client.create_collection(CollectionId="kept-briefly")
        ids = {}
        for person in ("obama", "biden", "kit_harington"):
            image = {
                "Bytes": (
                    testdata / f"faces/{person}/3.jpg"
                    if person == "kit_harington"
                    else testdata / f"faces/{person}/1.jpg"
                ).read_bytes()
            }
            added = client.index_faces(CollectionId="kept-briefly", Image=image, ExternalImageId=person)
            ids[person] = added["FaceRecords"][0]["Face"]["FaceId"]
        assert server.cli("collection", "policy", "kept-briefly", "--retention-days", "30").returncode == 0
        with sqlite3.connect(server.data_dir / "faceindex.db") as db:  # obama's face: last used 40 days ago
            db.execute("UPDATE faces SET used_at = ? WHERE face_id = ?", (time.time() - 40 * 86400, ids["obama"]))
        deadline = time.monotonic() + 60
        while ids["obama"] in _face_ids(client) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _face_ids(client) == {ids["biden"], ids["kit_harington"]}
        [entry] = audit(server, "--operation", "RunRetention")
        assert entry["principal"].startswith("server:") and entry["face_ids"] == [ids["obama"]]

        with httpx.Client(base_url=server.url, auth=key, timeout=120) as rest:
            erased = rest.post("/v1/erasure", json={"external_image_id": "biden"})
            assert erased.status_code == 200, erased.text
            receipt_number = int(erased.headers["x-faceindex-audit-entry"])
            assert erased.json()["ErasedFaces"] == [
                {"CollectionId": "kept-briefly", "FaceId": ids["biden"], "ExternalImageId": "biden"}
            ]
            both = rest.post("/v1/erasure", json={"external_image_id": "x", "user_id": "y"})
            assert both.status_code == 400 and both.json()["code"] == "InvalidParameterException"
        assert _face_ids(client) == {ids["kit_harington"]}
        receipt, refused = audit(server, "--operation", "EraseFaces", "--since", "2026-01-01T00:00:00")
        assert receipt["face_ids"] == [ids["biden"]] and receipt["channel"] == "rest"
        assert receipt["seq"] == receipt_number  # the header names the receipt
        assert refused["outcome"] == "InvalidParameterException"  # a refused erasure is on record too
        assert audit(server, "--operation", "EraseFaces", "--until", "2026-01-01") == []
    finally:
        server.stop()


def _face_ids(client: Any) -> set[str]:
    return {face["FaceId"] for face in client.list_faces(CollectionId="kept-briefly")["Faces"]}


def test_rest_retries_with_an_idempotency_key_answer_as_the_first_call(server: LiveServer, admin_key: Any) -> None:
    with httpx.Client(base_url=server.url, auth=admin_key, timeout=120) as rest:
        assert rest.post("/v1/collections", json={"collection_id": "retried"}).status_code == 200
        once = {"Idempotency-Key": "retry-1"}
        first = rest.post("/v1/collections/retried/users", json={"user_id": "ann"}, headers=once)
        again = rest.post("/v1/collections/retried/users", json={"user_id": "ann"}, headers=once)
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        fresh = rest.post("/v1/collections/retried/users", json={"user_id": "ann"})  # no key: a real conflict
        assert fresh.status_code == 409 and fresh.json()["code"] == "ConflictException"
        other = rest.post("/v1/collections/retried/users", json={"user_id": "bob"}, headers=once)
        assert other.status_code == 409 and other.json()["code"] == "IdempotentParameterMismatchException"
        bad = rest.post("/v1/collections/retried/users", json={"user_id": "cy"}, headers={"Idempotency-Key": "a b"})
        assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameterException"
