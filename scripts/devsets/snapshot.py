"""Read files out of a fetched public repository snapshot (a bare git directory) and write dev-set manifests.

The dev-set scripts beside this one take a snapshot path as input and extract into a folder outside the
repository (default ~/.cache/faceindex/devsets/<name>/). Nothing they extract is ever committed.
Standard library only, so the scripts run from any Python with Pillow and numpy.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

DEFAULT_ROOT = Path.home() / ".cache" / "faceindex" / "devsets"


def git_dir(path: Path) -> Path:
    """The git directory of a snapshot: `path` itself when bare, else `path/.git`."""
    if (path / ".git").is_dir():
        return path / ".git"
    if (path / "objects").is_dir() and (path / "HEAD").is_file():
        return path
    raise SystemExit(f"{path} is not a git snapshot (no objects/ or .git/ there)")


class Snapshot:
    """The newest commit of one snapshot: its file list and the bytes of any file in it."""

    def __init__(self, path: Path, commit: str = "HEAD") -> None:
        self.path = Path(path)
        self.git = git_dir(self.path)
        self.commit = self._run("rev-parse", commit).strip()
        self.origin = self.path.resolve().as_posix()

    def _run(self, *args: str) -> str:
        done = subprocess.run(["git", f"--git-dir={self.git}", *args], check=True, capture_output=True, text=True)
        return done.stdout

    def files(self, under: str = "") -> list[str]:
        """Paths of the files in the commit (optionally only those under a folder)."""
        out = self._run("ls-tree", "-r", "-z", "--name-only", self.commit, *([under] if under else []))
        return [p for p in out.split("\0") if p]

    def read(self, paths: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) for each path, through one `git cat-file --batch` process."""
        proc = subprocess.Popen(
            ["git", f"--git-dir={self.git}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for path in paths:
                proc.stdin.write(f"{self.commit}:{path}\n".encode())
                proc.stdin.flush()
                header = proc.stdout.readline().decode().split()
                if len(header) < 3 or header[1] != "blob":
                    continue  # missing (a file over the snapshot's size limit) or not a file
                data = proc.stdout.read(int(header[2]))
                proc.stdout.read(1)  # the newline after each object
                yield path, data
        finally:
            proc.stdin.close()
            proc.wait()


def stable_fraction(key: str, salt: str = "") -> float:
    """A number in [0, 1) fixed by `key`: splits that do not change between runs or machines."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
