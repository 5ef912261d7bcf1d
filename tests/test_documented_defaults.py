"""Every default botocore's Rekognition model documents for an input member ("The default value is
NONE", "Default value of 80") is the one a request without that member gets from faceindex.

The defaults are read from the model's documentation strings, not copied here, and each is checked
on behaviour: a request without the member answers as one with the documented value, and one with a
value just beside it answers differently (so the check can tell). Thresholds are probed with stored
faces placed at similarities 0.5 above and below the documented value; quality filters with a
blurred photo that fails AUTO and passes NONE."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from faceindex.analysis.calibration import calibration
from faceindex.analysis.similarity import distance_for
from faceindex.api.rekognition.model import service_model
from faceindex.api.rekognition.operations import HANDLERS
from faceindex.config import Settings
from faceindex.errors import FaceIndexError
from faceindex.jsonable import to_jsonable
from faceindex.pipeline import FaceEngine
from faceindex.service import collections, users
from faceindex.service.container import Services, open_services
from faceindex.store.records import NewFace
from faceindex.types import BoundingBox

ABSENT = object()
_DEFAULT = re.compile(r"\bdefault value (?:is|of) ([A-Z]+|\d+(?:\.\d+)?)%?", re.IGNORECASE)


def documented_defaults() -> dict[tuple[str, str], str | float]:
    """(operation, member) -> the default its documentation states, for every operation served."""
    model = service_model()
    found: dict[tuple[str, str], str | float] = {}
    for operation in sorted(HANDLERS):
        shape = model.operation_model(operation).input_shape
        for member, member_shape in shape.members.items() if shape is not None else []:
            match = _DEFAULT.search(re.sub(r"<[^>]+>", "", member_shape.documentation or ""))
            if match:
                value = match.group(1)
                found[operation, member] = float(value) if value[0].isdigit() else value
    return found


DOCUMENTED = documented_defaults()


def test_the_model_documents_the_defaults_we_know_of() -> None:
    # guards the parser: a botocore whose wording changed must not make the check below vacuous
    assert DOCUMENTED[("SearchUsersByImage", "QualityFilter")] == "NONE"
    assert DOCUMENTED[("SearchUsersByImage", "UserMatchThreshold")] == 80.0
    assert DOCUMENTED[("AssociateFaces", "UserMatchThreshold")] == 75.0
    assert DOCUMENTED[("IndexFaces", "QualityFilter")] == "AUTO"
    assert len(DOCUMENTED) >= 9


@pytest.fixture(scope="module")
def services(engine: FaceEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    settings = Settings(model_cache=engine.settings.model_cache, data_dir=tmp_path_factory.mktemp("data"))
    opened = open_services(settings, engine)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def photos(testdata: Path) -> dict[str, bytes]:
    """A sharp portrait, and the same blurred until its face fails AUTO (LOW_SHARPNESS) but is found."""
    sharp = (testdata / "faces/obama/1.jpg").read_bytes()
    blurred = io.BytesIO()
    Image.open(io.BytesIO(sharp)).convert("RGB").filter(ImageFilter.GaussianBlur(8)).save(blurred, "JPEG")
    return {"sharp": sharp, "blurred": blurred.getvalue()}


class World:
    """A fresh collection whose stored faces sit at chosen similarities from a query descriptor."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.name = f"defaults-{uuid.uuid4().hex[:12]}"
        collections.create_collection(services, self.name)
        self.record = services.store.collection(self.name)

    def add(self, descriptor: np.ndarray, user: str | None = None) -> str:
        face = NewFace(BoundingBox(0.1, 0.1, 0.5, 0.5), 99.0, descriptor.astype(np.float32))
        (stored,) = self.services.store.add_faces(self.record, [face], None, None, self.services.face_model_version)
        if user is not None:
            if not self.services.store.user_exists(self.record, user):
                users.create_user(self.services, self.name, user)
            self.services.store.set_user(self.record, [stored.face_id], user)
        return str(stored.face_id)

    def around(
        self, query: np.ndarray, similarity: float, as_users: bool = False, search: bool = True
    ) -> dict[str, str]:
        """Faces 0.5 above and 0.5 below `similarity` from `query`, on opposite sides of it: a search's
        similarity (which depends on the faces searched: these two; a searched face is not its own match),
        or with `search` false the per-comparison one (CompareFaces, AssociateFaces)."""
        direction = np.random.default_rng(7).standard_normal(query.shape)
        direction /= np.linalg.norm(direction)
        ids = {}
        for label, sign, score in (("above", 1.0, similarity + 0.5), ("below", -1.0, similarity - 0.5)):
            distance = calibration().search_distance_for(score, 2) if search else distance_for(score)
            ids[label] = self.add(query + sign * distance * direction, label if as_users else None)
        return ids


def _query(services: Services, photo: bytes) -> np.ndarray:
    faces = services.engine.analyze(photo)
    assert faces and faces[0].descriptor is not None
    return faces[0].descriptor.astype(np.float64)


def _answer(operation: str, services: Services, params: dict[str, Any]) -> Any:
    """What the Rekognition operation answers: the ids it matched (or indexed), or its error class."""
    try:
        body = to_jsonable(HANDLERS[operation](services, params))
    except FaceIndexError as exc:
        return type(exc).__name__
    for key, id_of in (
        ("FaceMatches", lambda m: m["Face"].get("FaceId", "a match")),  # CompareFaces' faces have no id
        ("UserMatches", lambda m: m["User"]["UserId"]),
        ("AssociatedFaces", lambda m: m["FaceId"]),
        ("FaceRecords", lambda m: "indexed"),
    ):
        if key in body:
            return sorted(id_of(item) for item in body[key])
    raise AssertionError(f"unexpected answer of {operation}: {sorted(body)}")


# (operation, member) -> a probe: given the member's value (or ABSENT), what the operation answers.
# Each probe builds its own collection so that answers do not depend on earlier calls.
Probe = Callable[[Services, dict[str, bytes], object], Any]


def _with(params: dict[str, Any], member: str, value: object) -> dict[str, Any]:
    return params if value is ABSENT else {**params, member: value}


def _search_faces(s: Services, photos: dict[str, bytes], value: object) -> Any:
    world = World(s)
    query = _query(s, photos["sharp"])
    searched = world.add(query)
    ids = world.around(query, 80.0)
    answer = _answer(
        "SearchFaces", s, _with({"CollectionId": world.name, "FaceId": searched}, "FaceMatchThreshold", value)
    )
    return [label for label, face in ids.items() if face in answer]


def _search_faces_by_image_threshold(s: Services, photos: dict[str, bytes], value: object) -> Any:
    world = World(s)
    ids = world.around(_query(s, photos["sharp"]), 80.0)
    params = {"CollectionId": world.name, "Image": {"Bytes": photos["sharp"]}}
    answer = _answer("SearchFacesByImage", s, _with(params, "FaceMatchThreshold", value))
    return [label for label, face in ids.items() if face in answer]


def _search_users(s: Services, photos: dict[str, bytes], value: object) -> Any:
    world = World(s)
    query = _query(s, photos["sharp"])
    searched = world.add(query)
    world.around(query, 80.0, as_users=True)
    return _answer(
        "SearchUsers", s, _with({"CollectionId": world.name, "FaceId": searched}, "UserMatchThreshold", value)
    )


def _search_users_by_image_threshold(s: Services, photos: dict[str, bytes], value: object) -> Any:
    world = World(s)
    world.around(_query(s, photos["sharp"]), 80.0, as_users=True)
    params = {"CollectionId": world.name, "Image": {"Bytes": photos["sharp"]}}
    return _answer("SearchUsersByImage", s, _with(params, "UserMatchThreshold", value))


def _associate_faces(s: Services, photos: dict[str, bytes], value: object) -> Any:
    world = World(s)
    query = _query(s, photos["sharp"])
    world.add(query, user="owner")
    ids = world.around(query, 75.0, search=False)
    params = {"CollectionId": world.name, "UserId": "owner", "FaceIds": [ids["above"], ids["below"]]}
    answer = _answer("AssociateFaces", s, _with(params, "UserMatchThreshold", value))
    return [label for label, face in ids.items() if face in answer]


def _blurred_query(operation: str, as_user: bool) -> Probe:
    def probe(s: Services, photos: dict[str, bytes], value: object) -> Any:
        world = World(s)
        stored = world.add(_query(s, photos["blurred"]), user="owner" if as_user else None)
        params = {"CollectionId": world.name, "Image": {"Bytes": photos["blurred"]}}
        answer = _answer(operation, s, _with(params, "QualityFilter", value))
        return answer if isinstance(answer, str) else ["found" for found in answer if found in (stored, "owner")]

    return probe


def _compare_faces_quality(s: Services, photos: dict[str, bytes], value: object) -> Any:
    params = {"SourceImage": {"Bytes": photos["blurred"]}, "TargetImage": {"Bytes": photos["blurred"]}}
    answer = _answer("CompareFaces", s, _with(params, "QualityFilter", value))
    return answer if isinstance(answer, str) else len(answer)


def _index_faces_quality(s: Services, photos: dict[str, bytes], value: object) -> Any:
    world = World(s)
    return _answer(
        "IndexFaces",
        s,
        _with({"CollectionId": world.name, "Image": {"Bytes": photos["blurred"]}}, "QualityFilter", value),
    )


PROBES: dict[tuple[str, str], Probe] = {
    ("AssociateFaces", "UserMatchThreshold"): _associate_faces,
    ("CompareFaces", "QualityFilter"): _compare_faces_quality,
    ("IndexFaces", "QualityFilter"): _index_faces_quality,
    ("SearchFaces", "FaceMatchThreshold"): _search_faces,
    ("SearchFacesByImage", "FaceMatchThreshold"): _search_faces_by_image_threshold,
    ("SearchFacesByImage", "QualityFilter"): _blurred_query("SearchFacesByImage", as_user=False),
    ("SearchUsers", "UserMatchThreshold"): _search_users,
    ("SearchUsersByImage", "UserMatchThreshold"): _search_users_by_image_threshold,
    ("SearchUsersByImage", "QualityFilter"): _blurred_query("SearchUsersByImage", as_user=True),
}


# stored-video members: a probe runs a job; tests/test_video_jobs.py::test_documented_defaults_maxresults_1000_and_
# threshold_80 checks them (MaxResults 1000 and its cap, FaceMatchThreshold 80 beside 79 and 81)
ELSEWHERE = {
    ("GetFaceDetection", "MaxResults"),
    ("GetFaceSearch", "MaxResults"),
    ("StartFaceSearch", "FaceMatchThreshold"),
}


def _beside(value: str | float) -> list[str | float]:
    if isinstance(value, float):
        return [value - 1.0, value + 1.0]  # lets in the face 0.5 below; leaves out the one 0.5 above
    return ["AUTO" if value == "NONE" else "NONE"]


@pytest.mark.parametrize(("operation", "member"), sorted(DOCUMENTED), ids=[f"{o}.{m}" for o, m in sorted(DOCUMENTED)])
def test_a_missing_member_gets_the_documented_default(
    operation: str, member: str, services: Services, photos: dict[str, bytes]
) -> None:
    if (operation, member) in ELSEWHERE:
        pytest.skip("checked in tests/test_video_jobs.py")
    documented = DOCUMENTED[operation, member]
    probe = PROBES.get((operation, member))
    assert probe is not None, f"botocore documents {operation}.{member} = {documented!r}: add a probe for it"
    expected = probe(services, photos, documented)
    for other in _beside(documented):
        assert probe(services, photos, other) != expected, f"the probe cannot tell {documented!r} from {other!r}"
    assert probe(services, photos, ABSENT) == expected, f"{operation} without {member} is not {documented!r}"


def test_the_compatibility_doc_states_the_documented_defaults() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "rekognition-compatibility.md").read_text()
    stated = [
        (operation, member, value)
        for operation, note in re.findall(r"^- \*\*(\w+)\*\*: (.*)$", text, re.MULTILINE)
        for member, value in re.findall(r"\b([A-Z]\w+) \(?default (\w+)", note)
    ]
    assert len(stated) >= 4
    for operation, member, value in stated:
        expected = DOCUMENTED.get((operation, member))
        assert expected == (float(value) if value[0].isdigit() else value), f"{operation} {member} default {value}"
