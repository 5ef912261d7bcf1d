"""A live server that runs out of room: boto3 sees a retryable ServiceUnavailableException (503,
not a 500), /readyz says why it is not ready, SIGTERM still shuts down, the faces already stored
are intact, and writes work again once there is room. Calls that must leave an audit entry (every one
touching faces) are refused while there is no room for it: none is answered unrecorded.

Room runs out twice for real: under the database's size cap (max_db_bytes: SQLite's page cap,
no privileges needed) and on a small tmpfs that is filled up (needs root; skipped otherwise).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from faceindex.store.sqlite.store import SqliteStore
from tests.api.live import LiveServer, start_server

PAGE = 4096


def _photo(testdata: Path) -> bytes:
    return (testdata / "faces/biden/1.jpg").read_bytes()


def _index_until_refused(client: Any, image: bytes, attempts: int) -> tuple[int, ClientError]:
    """IndexFaces until the server refuses; (faces indexed before, the error)."""
    for indexed in range(attempts):
        try:
            client.index_faces(CollectionId="full", Image={"Bytes": image})
        except ClientError as error:
            return indexed, error
    raise AssertionError(f"{attempts} IndexFaces calls and no refusal")


def _assert_refused_as_unavailable(error: ClientError) -> None:
    assert error.response["Error"]["Code"] == "ServiceUnavailableException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503  # the SDKs retry a 503
    assert "intact" in error.response["Error"]["Message"]


def _refused_unaudited(client: Any) -> None:
    """A call that touches faces is audited; with no room for its entry it is refused, not answered
    unrecorded (metadata reads such as DescribeCollection are not audited and still work)."""
    with pytest.raises(ClientError) as refused:
        client.list_faces(CollectionId="full")
    _assert_refused_as_unavailable(refused.value)


def _not_ready_because(live: LiveServer, words: str) -> None:
    ready = httpx.get(f"{live.url}/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready" and words in ready.json()["reason"]


def _stopped_cleanly(live: LiveServer) -> None:
    assert live.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
    log = live.log()
    assert '"message": "stopped"' in log
    assert "Traceback" not in log and "InternalServerError" not in log


def _schema_pages(tmp_path: Path) -> int:
    """Pages of a new, empty database: the cap is set a few pages above it."""
    SqliteStore(tmp_path / "probe" / "faceindex.db").close()
    with sqlite3.connect(tmp_path / "probe" / "faceindex.db") as db:
        return int(db.execute("PRAGMA page_count").fetchone()[0])


def test_a_database_at_its_size_cap(tmp_path: Path, cache: Path, testdata: Path) -> None:
    cap = (_schema_pages(tmp_path) + 4) * PAGE
    room = {"FACEINDEX_MAX_DB_BYTES": str(cap), "FACEINDEX_MIN_FREE_BYTES": str(2 * PAGE)}
    live = start_server(tmp_path / "data", cache, room)
    client = live.client(live.new_key(), attempts=1)  # no retries: see the first answer
    rest_key = live.new_key()
    client.create_collection(CollectionId="full")

    indexed, error = _index_until_refused(client, _photo(testdata), attempts=60)

    assert indexed >= 1
    _assert_refused_as_unavailable(error)
    _not_ready_because(live, "max_db_bytes")
    with httpx.Client(base_url=live.url, auth=rest_key, timeout=60) as rest:
        refused = rest.post("/v1/collections/full/faces", files={"image": ("a.jpg", _photo(testdata))})
    assert refused.status_code == 503 and refused.json()["code"] == "ServiceUnavailableException"
    assert client.describe_collection(CollectionId="full")["FaceCount"] == indexed  # what is stored is intact
    _refused_unaudited(client)
    _stopped_cleanly(live)

    roomier = start_server(tmp_path / "data", cache, {**room, "FACEINDEX_MAX_DB_BYTES": str(cap + 64 * PAGE)})
    try:
        client = roomier.client(roomier.new_key(), attempts=1)
        client.index_faces(CollectionId="full", Image={"Bytes": _photo(testdata)})
        assert len(client.list_faces(CollectionId="full")["Faces"]) == indexed + 1
    finally:
        roomier.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs as the data folder (the server's log stays outside it)."""
    disk = tmp_path / "data"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(disk)], check=False)
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the disk has no space left."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * (1 << 20))
    except OSError:  # ENOSPC: the disk is full
        pass
    finally:
        os.close(descriptor)
    return filler


def test_a_full_file_system(small_disk: Path, cache: Path, testdata: Path) -> None:
    live = start_server(small_disk, cache, {"FACEINDEX_MIN_FREE_BYTES": str(4 << 20)})
    try:
        client = live.client(live.new_key(), attempts=1)
        client.create_collection(CollectionId="full")
        client.index_faces(CollectionId="full", Image={"Bytes": _photo(testdata)})
        filler = _fill(small_disk)

        _not_ready_because(live, "file system")
        _, error = _index_until_refused(client, _photo(testdata), attempts=5)
        _assert_refused_as_unavailable(error)
        _refused_unaudited(client)
        stored = client.describe_collection(CollectionId="full")["FaceCount"]

        filler.unlink()  # space returns
        assert httpx.get(f"{live.url}/readyz", timeout=30).json() == {"status": "ready"}
        client.index_faces(CollectionId="full", Image={"Bytes": _photo(testdata)})
        assert len(client.list_faces(CollectionId="full")["Faces"]) == stored + 1

        client.search_faces_by_image(CollectionId="full", Image={"Bytes": _photo(testdata)})  # an index to save
        _fill(small_disk)  # full again: shutdown still completes
        _stopped_cleanly(live)
    finally:
        if live.process is not None and live.process.poll() is None:
            live.stop(signal.SIGKILL)
