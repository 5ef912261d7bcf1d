"""Issue 13.6: ClientRequestToken lives behind the service door, so it holds for every adapter and across
processes on one data folder: two processes delivering one CreateUser at the same moment carry it out
once and both answer as the first did (no ConflictException for the second)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from faceindex.config import Settings
from faceindex.models.fake import FakeEngine
from faceindex.service.container import open_services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke

DELIVER = """
import json, sys, time
from pathlib import Path
from faceindex.config import Settings
from faceindex.models.fake import FakeEngine
from faceindex.service.container import open_services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke

data, go, operation, params = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
services = open_services(Settings(data_dir=data), engine=FakeEngine())
while not go.exists():
    time.sleep(0.001)
try:
    answer = {"ok": invoke(services, operator(), operation, params).result}
except Exception as error:
    answer = {"error": type(error).__name__}
services.close()
print(json.dumps(answer))
"""


def deliver_together(data: Path, operation: str, params: dict[str, object], copies: int = 2) -> list[dict[str, object]]:
    go = data.parent / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", DELIVER, str(data), str(go), operation, json.dumps(params)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(copies)
    ]
    time.sleep(3)  # both are waiting at the line
    go.touch()
    answers = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    go.unlink()
    return answers


def test_one_token_two_processes_one_user(tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = open_services(Settings(data_dir=data), engine=FakeEngine())
    invoke(services, operator(), "CreateCollection", {"CollectionId": "people"})
    services.close()

    params = {"CollectionId": "people", "UserId": "ann", "ClientRequestToken": "retry-of-one-call"}
    assert deliver_together(data, "CreateUser", params) == [{"ok": {}}, {"ok": {}}]

    other = {**params, "UserId": "bob"}  # the same token with other parameters, from either process
    assert deliver_together(data, "CreateUser", other) == [{"error": "IdempotentParameterMismatch"}] * 2
    without = {"CollectionId": "people", "UserId": "cy"}  # no token: the second is a real conflict
    assert sorted(map(str, deliver_together(data, "CreateUser", without))) == sorted(
        [str({"ok": {}}), str({"error": "Conflict"})]
    )

    services = open_services(Settings(data_dir=data), engine=FakeEngine())
    try:
        users = invoke(services, operator(), "ListUsers", {"CollectionId": "people"}).result.Users
        assert [u.UserId for u in users] == ["ann", "cy"]
        created = [e for e in services.audit.entries() if e["operation"] == "CreateUser"]
        outcomes = sorted(e["outcome"] for e in created)  # ann twice (the retry answered), cy once, and the refusals
        assert outcomes == sorted(["ok"] * 3 + ["IdempotentParameterMismatchException"] * 2 + ["ConflictException"])
        assert services.audit.verify().ok  # six processes appended to one chain
    finally:
        services.close()
