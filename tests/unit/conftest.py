"""Services on the fake engine and the in-memory store: nothing loads a model or touches a database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faceindex.config import Settings
from faceindex.models.fake import FakeEngine, draw_faces
from faceindex.service.container import Services, open_services

RED, BLUE, GREEN = (220, 60, 60), (60, 90, 230), (60, 200, 80)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(data_dir=tmp_path / "unused", model_cache=tmp_path / "unused-models", auth="none")
    opened = open_services(settings, FakeEngine(settings), store="memory")
    yield opened
    opened.close()


@pytest.fixture
def photos() -> dict[str, bytes]:
    """Photos of fake people: one face each, a pair, and none."""
    return {
        "red": draw_faces([RED]),
        "red again": draw_faces([RED], size=(640, 400), side=150, fmt="JPEG"),
        "blue": draw_faces([BLUE]),
        "green": draw_faces([GREEN]),
        "red and blue": draw_faces([RED, BLUE]),
        "nobody": draw_faces([]),
    }
