"""Issue 13.3: `faceindex audit verify` on a real SQLite log: 0 when intact, 1 naming the first bad entry
when an entry was altered, removed, reordered, or the log truncated since a signed head (with and
without an outside witness's head)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from faceindex.cli import exits
from faceindex.config import Settings
from faceindex.models.fake import FakeEngine
from faceindex.service.container import open_services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke

ENTRIES = 12


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"FACEINDEX_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "faceindex.cli.main", *args], capture_output=True, text=True, env=env)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A data folder whose log holds ENTRIES entries (collections created and described by the operator)
    and a signed head over the first 8, like a server's hourly one."""
    data = tmp_path / "data"
    services = open_services(Settings(data_dir=data), engine=FakeEngine())
    try:
        for number in range(ENTRIES):
            if number == 8:
                assert services.audit.sign_head() is not None
            invoke(services, operator(), "CreateCollection", {"CollectionId": f"c{number}"})
    finally:
        services.store.close()  # no shutdown head: the last one covers 8 entries
    return data


def db(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(data / "faceindex.db", isolation_level=None)


def verify(data: Path, *args: str) -> tuple[int, str]:
    done = cli(data, "audit", "verify", *args)
    return done.returncode, done.stdout + done.stderr


def test_an_intact_log_verifies(log: Path) -> None:
    code, said = verify(log)
    assert code == 0 and f"{ENTRIES} entries" in said, said
    shown = cli(log, "audit", "show", "--operation", "CreateCollection").stdout
    assert "c11" in shown and "cli:" in shown


def test_an_altered_entry_is_named(log: Path) -> None:
    with db(log) as connection:
        body = json.loads(connection.execute("SELECT body FROM audit WHERE seq = 5").fetchone()[0])
        body["collection"] = "someone-else"
        connection.execute("UPDATE audit SET body = ? WHERE seq = 5", (json.dumps(body),))
    code, said = verify(log)
    assert code == exits.TAMPERED and "first bad entry: 5" in said and "altered" in said, said


def test_a_removed_entry_is_named(log: Path) -> None:
    with db(log) as connection:
        connection.execute("DELETE FROM audit WHERE seq = 3")
    code, said = verify(log)
    assert code == exits.TAMPERED and "first bad entry: 3" in said and "missing" in said, said


def test_reordered_entries_are_named(log: Path) -> None:
    with db(log) as connection:
        rows = {
            seq: connection.execute("SELECT body, chain, signature FROM audit WHERE seq = ?", (seq,)).fetchone()
            for seq in (6, 7)
        }
        for seq, other in ((6, 7), (7, 6)):
            connection.execute("UPDATE audit SET body = ?, chain = ?, signature = ? WHERE seq = ?", (*rows[other], seq))
    code, said = verify(log)
    assert code == exits.TAMPERED and "first bad entry: 6" in said and "out of order" in said, said


def test_truncation_after_a_signed_head_is_caught(log: Path) -> None:
    with db(log) as connection:
        connection.execute("DELETE FROM audit WHERE seq > 5")
    code, said = verify(log)
    assert code == exits.TAMPERED and "truncated" in said and "first bad entry: 6" in said, said


def test_a_witness_head_catches_what_the_log_alone_cannot(log: Path, tmp_path: Path) -> None:
    witness = tmp_path / "witness.json"
    head = cli(log, "audit", "head", "--out", str(witness))
    assert head.returncode == 0 and json.loads(witness.read_text())["size"] == ENTRIES  # reading is not audited
    with db(log) as connection:  # the tail and the heads over it removed together
        connection.execute("DELETE FROM audit WHERE seq > 9")
        connection.execute("DELETE FROM audit_heads WHERE size > 9")
    assert verify(log)[0] == 0  # consistent by itself...
    code, said = verify(log, "--witness", str(witness))
    assert code == exits.TAMPERED and "witness" in said and "truncated" in said, said  # ...but not with the witness


def test_entries_never_hold_image_bytes_or_descriptors(tmp_path: Path, testdata: Path) -> None:
    data = tmp_path / "data"
    services = open_services(Settings(data_dir=data), engine=FakeEngine())
    try:
        invoke(services, operator(), "CreateCollection", {"CollectionId": "people"})
        photo = (testdata / "faces/obama/1.jpg").read_bytes()
        added = invoke(services, operator(), "IndexFaces", {"CollectionId": "people", "Image": {"Bytes": photo}})
        face_ids = [r.Face.FaceId for r in added.result.FaceRecords]
        invoke(services, operator(), "SearchFacesByImage", {"CollectionId": "people", "Image": {"Bytes": photo}})
        entries = list(services.audit.entries())
        signing_key = services.audit.signer().private_bytes()
    finally:
        services.close()
    database = (data / "faceindex.db").read_bytes()
    assert signing_key not in database  # sealed under the master key, like the access-key secrets
    assert all(len(e["request_id"]) == 36 and e["principal"].startswith("cli:") and e["time"] > 0 for e in entries)
    indexed, searched = entries[1], entries[2]
    assert indexed["operation"] == "IndexFaces" and indexed["face_ids"] == face_ids
    assert searched["threshold"] == {"asked": 80.0, "applied": 80.0}
    assert searched["face_matches"] >= 1 and set(searched["face_ids"]) <= set(face_ids)
    text = json.dumps(entries)
    assert "Bytes" not in text and len(text) < 4000  # ids and counts only


def test_a_change_and_its_audit_entry_commit_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the entry cannot be written, the change it records is rolled back with it (SQLite)."""
    from faceindex.errors import DiskFull, ResourceNotFound

    services = open_services(Settings(data_dir=tmp_path / "data"), engine=FakeEngine())
    try:
        real_append = services.audit.append

        def failing(body: dict[str, object]) -> int:
            if body["outcome"] == "ok":
                raise DiskFull("no room for the entry")
            return real_append(body)

        monkeypatch.setattr(services.audit, "append", failing)
        with pytest.raises(DiskFull):
            invoke(services, operator(), "CreateCollection", {"CollectionId": "unrecorded"})
        with pytest.raises(ResourceNotFound):
            services.store.collection("unrecorded")
        monkeypatch.undo()
        [refused] = list(services.audit.entries())  # the failure itself is recorded
        assert refused["operation"] == "CreateCollection" and refused["outcome"] == "ServiceUnavailableException"
    finally:
        services.close()


def test_the_cli_retries_with_a_token_erases_and_runs_retention(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "collection", "create", "p").returncode == 0
    for _ in range(2):  # a script's retry answers as the first run did
        assert cli(data, "users", "create", "ann", "--collection", "p", "--client-request-token", "t1").returncode == 0
    again = cli(data, "users", "create", "ann", "--collection", "p")
    assert again.returncode == 2 and "ConflictException" in again.stderr
    policy = cli(data, "collection", "policy", "p", "--retention-days", "30", "--json")
    assert json.loads(policy.stdout) == {
        "CollectionId": "p",
        "MinSimilarity": None,
        "RequirePurpose": False,
        "RetentionDays": 30.0,
    }
    ran = cli(data, "retention", "run")
    assert ran.returncode == 0 and "erased 0 faces" in ran.stdout
    erased = cli(data, "erase", "--user-id", "ann", "--json")
    assert erased.returncode == 0 and json.loads(erased.stdout) == {"ErasedFaces": [], "ErasedFaceCount": 0}
    assert cli(data, "users", "list", "--collection", "p").stdout.strip() == ""  # the user went with the erasure
    shown = cli(data, "audit", "show").stdout
    for operation in ("CreateUser", "PutCollectionPolicy", "RunRetention", "EraseFaces"):
        assert operation in shown
    assert cli(data, "audit", "verify").returncode == 0


def test_hostile_text_is_recorded_as_valid_bounded_text(tmp_path: Path) -> None:
    from faceindex.errors import InvalidParameter

    services = open_services(Settings(data_dir=tmp_path / "data"), engine=FakeEngine())
    try:
        for name in ("a\ud800b", "x" * 100_000):
            with pytest.raises(InvalidParameter):
                invoke(services, operator(), "CreateCollection", {"CollectionId": name})
        lone, long = [e["collection"] for e in services.audit.entries()]
        assert lone == "a\\ud800b" and len(long) == 1024
        assert services.audit.verify().ok
    finally:
        services.close()
