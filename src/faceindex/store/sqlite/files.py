"""The data folder's files: private modes, free space, and the one-server lock.

Faces are biometric data, so the folder is 0700 and every file in it 0600, whatever the umask.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faceindex.errors import ResourceInUse

FOLDER_MODE = 0o700
FILE_MODE = 0o600
LOCK_NAME = "serve.lock"

_log = logging.getLogger("faceindex.store")


def private_folder(folder: Path) -> None:
    """Create `folder` 0700, or tighten an existing one that others can read (a warning says so)."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        try:
            folder.chmod(mode & ~0o077)
            _log.warning("data folder %s was mode %o, now %o: it holds biometric data", folder, mode, mode & ~0o077)
        except OSError:
            _log.warning("data folder %s is mode %o and cannot be made private: others may read it", folder, mode)


def private_file(path: Path) -> None:
    """Create `path` empty and 0600 if missing (SQLite gives its -wal and -shm the database file's
    mode), or take group and other access away from an existing one."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & ~0o077)


def write_private(path: Path, data: bytes) -> None:
    """Write a new 0600 file (replacing any earlier one, whose mode we do not trust)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer can still use on the file system holding `folder`."""
    info = os.statvfs(folder)
    return info.f_bavail * info.f_frsize


@contextmanager
def serve_lock(folder: Path) -> Iterator[None]:
    """Hold `<folder>/serve.lock` (with this process's id in it) or refuse: one server per data folder.

    The kernel drops a flock when its holder exits, even on kill -9, so a lock is never stale."""
    path = folder / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "unknown"
            raise ResourceInUse(
                f"the data folder {folder} is already served by another `faceindex serve` (pid {holder}); "
                "one server per data folder: stop that one or give this one another FACEINDEX_DATA_DIR"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)
