"""One `faceindex serve` per data folder (a lock file), while other commands may share the folder."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.api.live import LiveServer, free_port, start_server


def _serve_again(server: LiveServer, port: int) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "FACEINDEX_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", "serve"], capture_output=True, text=True, env=env, timeout=120
    )


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_second_server_on_the_same_data_folder_is_refused(server: LiveServer) -> None:
    assert server.process is not None
    port = free_port()
    second = _serve_again(server, port)

    assert second.returncode == 2
    assert "ResourceInUseException" in second.stderr and "Traceback" not in second.stderr
    assert str(server.data_dir) in second.stderr and f"pid {server.process.pid}" in second.stderr
    assert not _listening(port)  # refused before binding
    assert server.process.poll() is None  # the first one serves on
    server.new_key()  # other commands on the folder are still allowed (SQLite WAL)


def test_a_killed_server_leaves_no_stale_lock(tmp_path: Path, cache: Path) -> None:
    first = start_server(tmp_path / "data", cache)
    first.stop(signal.SIGKILL)  # no clean-up ran

    second = start_server(tmp_path / "data", cache)
    try:
        assert second.process is not None
        assert (tmp_path / "data" / "serve.lock").read_text().strip() == str(second.process.pid)
    finally:
        second.stop()
