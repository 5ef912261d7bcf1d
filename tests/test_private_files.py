"""Biometric files are private: the data folder is 0700 and what is in it 0600 whatever the umask,
and the first access key's secret reaches a terminal but never a log."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import boto3
import httpx
import pytest
from botocore.config import Config

from faceindex.service.keys import KeyStore
from faceindex.store.sqlite.store import SqliteStore
from tests.api.live import REGION, free_port


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: new files 0644, folders 0755
    yield
    os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_data_folder_and_its_database_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SqliteStore(data / "faceindex.db")
    store.create_collection("c", "arn:c", "v")  # the connection stays open: -wal and -shm exist
    KeyStore(store, data, master_key_b64=None).create("k", ["*"])  # makes master.key

    assert _mode(data) == 0o700
    names = {"faceindex.db", "faceindex.db-wal", "faceindex.db-shm", "master.key"}
    assert names <= {p.name for p in data.iterdir()}
    assert {name: _mode(data / name) for name in names} == dict.fromkeys(names, 0o600)
    store.close()


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_data_folder_open_to_others_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    SqliteStore(data / "faceindex.db").close()
    data.chmod(0o755)
    (data / "faceindex.db").chmod(0o644)  # as an earlier version left them

    store = SqliteStore(data / "faceindex.db")
    store.create_collection("c", "arn:c", "v")

    assert _mode(data) == 0o700
    assert {_mode(data / n) for n in ("faceindex.db", "faceindex.db-wal", "faceindex.db-shm")} == {0o600}
    store.close()


# --- the first access key of `faceindex serve` ----------------------------------------------


@contextmanager
def _serve(data: Path, cache: Path, output: IO[bytes] | int) -> Iterator[str]:
    """`faceindex serve` on a new data folder (so it makes a first key), its output to `output`."""
    port = free_port()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "FACEINDEX_DATA_DIR": str(data), "FACEINDEX_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "faceindex.cli.main", "serve"], env=env, stdout=output, stderr=output
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not _ready(url):
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _collections(url: str, key_id: str, secret: str) -> list[str]:
    client: Any = boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )
    return list(client.list_collections()["CollectionIds"])


def test_the_first_key_secret_goes_to_a_private_file_when_output_is_not_a_terminal(tmp_path: Path, cache: Path) -> None:
    data, log_path = tmp_path / "data", tmp_path / "serve.log"
    with log_path.open("wb") as log, _serve(data, cache, log) as url:
        key_file = data / "first-key.json"
        key = json.loads(key_file.read_text())
        assert _mode(key_file) == 0o600
        assert _collections(url, key["AccessKeyId"], key["SecretAccessKey"]) == []  # the key works
    output = log_path.read_text()
    assert key["SecretAccessKey"] not in output
    assert key["AccessKeyId"] in output and str(key_file) in output  # the banner says where the secret is
    assert "allowed everything (compare, detect, identify, manage)" in output  # and what the key may do


def test_the_first_key_secret_is_shown_on_a_terminal_and_kept_nowhere(tmp_path: Path, cache: Path) -> None:
    controller, terminal = pty.openpty()
    printed = bytearray()

    def read_terminal() -> None:  # drain it, or the server blocks writing its logs
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            printed.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    data = tmp_path / "data"
    try:
        with _serve(data, cache, terminal) as url:
            deadline = time.monotonic() + 10  # the reader may not have caught up yet
            while (shown := re.search(rb"first access key was created: (\w+) / (\S+)", bytes(printed))) is None:
                assert time.monotonic() < deadline, bytes(printed)
                time.sleep(0.05)
            key_id, secret = shown.group(1).decode(), shown.group(2).decode()
            assert _collections(url, key_id, secret) == []  # what was shown is the real secret
    finally:
        os.close(terminal)
        reader.join(10)
        os.close(controller)
    assert not (data / "first-key.json").exists()
