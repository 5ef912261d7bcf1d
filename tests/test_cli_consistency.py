"""Every `faceindex` command alike: help on everything, --version, readable output with --json on
request, exit codes with one meaning, and listings that follow NextToken to the end."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from faceindex.cli.main import build_parser
from faceindex.config import Settings
from faceindex.pipeline import FaceEngine
from faceindex.service import users
from faceindex.service.container import open_services
from faceindex.store.records import NewFace
from faceindex.types import BoundingBox
from tests.test_cli_collections import faceindex

ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b")


def _actions(parser: argparse.ArgumentParser, command: str = "faceindex") -> Iterator[tuple[str, str | None]]:
    """(where, help) for every option, argument and sub-command, all the way down."""
    for action in parser._actions:
        yield f"{command} {'/'.join(action.option_strings) or action.dest}", action.help
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{command} {name}", helps.get(name)
                yield from _actions(sub, f"{command} {name}")


def test_every_option_argument_and_command_has_help() -> None:
    missing = [where for where, text in _actions(build_parser()) if not text or text == argparse.SUPPRESS]
    assert missing == []


def test_version_and_exit_codes_in_help(cache: Path, tmp_path: Path) -> None:
    shown = faceindex(["--version"], cache, tmp_path)
    assert shown.returncode == 0
    assert shown.stdout.strip() == f"faceindex {version('faceindex')}"
    helped = faceindex(["--help"], cache, tmp_path).stdout
    assert "exit codes" in helped
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\s+{code}\s+\w", helped, re.MULTILINE), code


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def test_readable_by_default_json_on_request_and_exit_1_for_no_match(
    testdata: Path, cache: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    created = faceindex(["collection", "create", "people"], cache, data)
    assert created.returncode == 0 and _not_json(created.stdout) and "people" in created.stdout
    other = json.loads(faceindex(["collection", "create", "other", "--json"], cache, data).stdout)
    assert other["StatusCode"] == 200

    described = faceindex(["collection", "describe", "people"], cache, data)
    assert _not_json(described.stdout) and ISO_TIME.search(described.stdout), described.stdout
    as_json = json.loads(faceindex(["collection", "describe", "people", "--json"], cache, data).stdout)
    assert isinstance(as_json["CreationTimestamp"], float)

    indexed = faceindex(["index", "--collection", "people", "--json", str(testdata / "faces/biden/1.jpg")], cache, data)
    (face_id,) = json.loads(indexed.stdout)["FaceIds"]
    assert faceindex(["users", "create", "joe", "--collection", "people"], cache, data).returncode == 0
    associated = faceindex(["users", "associate", "joe", face_id, "--collection", "people"], cache, data)
    assert (
        associated.returncode == 0
        and _not_json(associated.stdout)
        and "1 face associated with joe" in associated.stdout
    )

    found = faceindex(["users", "search", "--collection", "people", str(testdata / "faces/biden/2.jpg")], cache, data)
    assert found.returncode == 0 and _not_json(found.stdout) and "joe" in found.stdout
    # no match: 1, as `search` and `compare`
    nobody = faceindex(
        ["users", "search", "--collection", "people", "--json", str(testdata / "faces/obama/1.jpg")], cache, data
    )
    assert nobody.returncode == 1 and json.loads(nobody.stdout)["UserMatches"] == []
    no_face = faceindex(["search", "--collection", "people", str(testdata / "faces/obama/1.jpg")], cache, data)
    assert no_face.returncode == 1

    deleted = faceindex(["faces", "delete", face_id, "--collection", "people"], cache, data)
    assert deleted.returncode == 1  # the face is joe's: left as it was
    assert _not_json(deleted.stdout) and "ASSOCIATED_TO_AN_EXISTING_USER" in deleted.stdout
    as_json = json.loads(
        faceindex(["faces", "delete", face_id, "--collection", "people", "--json"], cache, data).stdout
    )
    assert as_json["UnsuccessfulFaceDeletions"][0]["UserId"] == "joe"


@pytest.mark.parametrize("command", [["users", "list"], ["faces", "list"], ["collection", "list"]])
def test_listings_follow_next_token_to_the_end(
    command: list[str], cache: Path, tmp_path: Path, engine: FaceEngine
) -> None:
    data = tmp_path / "data"
    services = open_services(Settings(model_cache=engine.settings.model_cache, data_dir=data), engine)
    collection = services.store.create_collection("big", "arn:big", services.face_model_version)
    if command[0] == "users":  # pages of at most 500
        expected = 501
        for n in range(expected):
            users.create_user(services, "big", f"user-{n:04d}")
    elif command[0] == "faces":  # pages of at most 1000
        expected = 1001
        vectors = np.random.default_rng(0).standard_normal((expected, 128)).astype(np.float32)
        faces = [NewFace(BoundingBox(0.1, 0.1, 0.1, 0.1), 99.0, v / np.linalg.norm(v)) for v in vectors]
        services.store.add_faces(collection, faces, None, None, services.face_model_version)
    else:
        expected = 1001
        for n in range(1, expected):
            services.store.create_collection(f"c-{n:04d}", f"arn:{n}", services.face_model_version)
    services.close()
    scope = [] if command[0] == "collection" else ["--collection", "big"]
    listed = faceindex([*command, *scope, "--json"], cache, data)
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    key = {"users": "Users", "faces": "Faces", "collection": "CollectionIds"}[command[0]]
    assert len(body[key]) == expected
    readable = faceindex([*command, *scope], cache, data)
    assert len(readable.stdout.splitlines()) >= expected
