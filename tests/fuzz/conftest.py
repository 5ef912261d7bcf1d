"""A live server of the fuzz suite's own (its data folder, the test photos as bucket `testdata`), so
its log and its resident set hold the fuzz cases alone."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.live import LiveServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, cache: Path, testdata: Path) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("fuzz-server") / "data", cache, {"FACEINDEX_BUCKETS": f"testdata={testdata}"}
    )
    yield live
    live.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def admin_key(server: LiveServer) -> tuple[str, str]:
    return server.new_key()


@pytest.fixture
def rekognition(server: LiveServer, admin_key: tuple[str, str]) -> Iterator[Any]:
    """A boto3 client; the test fails if any response it received is not exactly the modelled shape."""
    start = len(server.shape_errors)
    yield server.client(admin_key)
    assert server.shape_errors[start:] == []
