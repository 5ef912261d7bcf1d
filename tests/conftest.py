"""Shared fixtures: the test photos (../shared/testdata via FACEINDEX_TESTDATA) and one real engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faceindex.config import Settings
from faceindex.pipeline import FaceEngine

ROOT = Path(__file__).resolve().parents[1]


def testdata_root() -> Path:
    return Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared" / "testdata")).resolve()


@pytest.fixture(scope="session")
def testdata() -> Path:
    root = testdata_root()
    if not (root / "faces").is_dir():
        pytest.skip(f"test photos not found at {root} (set FACEINDEX_TESTDATA)")
    return root


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def engine(model_cache: Path) -> FaceEngine:
    return FaceEngine(Settings(model_cache=model_cache))


@pytest.fixture(scope="session")
def cache(engine: FaceEngine) -> Path:
    """An XDG cache whose model pack is the session's, so the CLI does not convert again."""
    root = engine.model_pack.directory.parent.parent
    (root / "faceindex").mkdir(exist_ok=True)
    link = root / "faceindex" / "models"
    if not link.exists():
        link.symlink_to(engine.model_pack.directory.parent)
    return root


def face_photos(root: Path) -> list[tuple[str, Path]]:
    return [(p.parent.name, p) for p in sorted((root / "faces").glob("*/*")) if p.is_file()]
