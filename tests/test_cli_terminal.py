"""On a terminal, with the progress bar on screen, no line of output is drawn over or glued to the bar."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """Runs the CLI with stdout and stderr on one pseudo-terminal, as in a shell; returns the screen's lines."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "faceindex.cli.main", *args], stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=600), _screen(b"".join(chunks).decode("utf-8", "replace"))


def _screen(stream: str) -> list[str]:
    """What a terminal shows: '\\r' returns to column 0 and later characters overwrite earlier ones."""
    lines: list[list[str]] = [[]]
    column = 0
    for char in ANSI.sub("", stream):
        if char == "\n":
            lines.append([])
            column = 0
        elif char == "\r":
            column = 0
        else:
            line = lines[-1]
            line.extend(" " * (column + 1 - len(line)))
            line[column] = char
            column += 1
    return ["".join(line).rstrip() for line in lines]


def _env(cache: Path, data: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache), "FACEINDEX_DATA_DIR": str(data)}


def test_detect_lines_stay_whole_beside_the_bar(testdata: Path, cache: Path, tmp_path: Path) -> None:
    photos = [testdata / "faces/biden/1.jpg", testdata / "faces/biden/2.jpg", testdata / "faces/obama/1.jpg"]
    code, screen = run_on_a_terminal(["detect", *map(str, photos)], _env(cache, tmp_path))
    assert code == 0, screen
    for photo in photos:
        assert any(line.startswith(f"{photo}: 1 face (") for line in screen), (photo, screen)


def test_index_json_lines_stay_whole_beside_the_bar(testdata: Path, cache: Path, tmp_path: Path) -> None:
    env = _env(cache, tmp_path / "data")
    subprocess.run([sys.executable, "-m", "faceindex.cli.main", "collection", "create", "people"], env=env, check=True)
    photos = sorted((testdata / "faces/obama").glob("*.jpg"))
    code, screen = run_on_a_terminal(["index", "--collection", "people", "--json", str(testdata / "faces/obama")], env)
    assert code == 0, screen
    lines = [json.loads(line) for line in screen if line.startswith("{")]
    assert sorted(line["Image"] for line in lines) == sorted(map(str, photos)), screen
