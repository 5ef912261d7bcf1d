"""Snapshot files whose bytes are verified before anything parses them.

A snapshot is a cache on disk, and a parser handed damaged bytes may crash the process (usearch's
graph loader can segfault on them). So each file starts with a header naming its format, the
length of its payload and the payload's SHA-256, and `read_checked` returns no byte of a file that
does not match it. Files are created 0600: an index holds faces' descriptors (biometric data).
A checksum cannot tell a stale or foreign snapshot from the right one; `spread` picks the rows that
the index's `agrees_with` compares with the database once it is loaded.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import numpy as np

FORMAT = 3  # 3: a checksummed header before the payload (2: int8 HNSW graphs, unchecked)
MAGIC = b"FXSNAP" + FORMAT.to_bytes(2, "little")
_HEADER = struct.Struct("<8sQ32s")  # magic, payload length, SHA-256 of the payload

Chunk = bytes | bytearray | memoryview
T = TypeVar("T")
TEMP_SUFFIX = ".tmp"


class SnapshotRejected(ValueError):
    """A snapshot that is not what it claims to be; its message names why, never its contents."""


def write_checked(path: Path, chunks: Iterable[Chunk]) -> None:
    """Write `chunks` as the payload of a checked file (hashed as they are, not joined: a graph can be GBs)."""
    chunks = list(chunks)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    length = sum(memoryview(chunk).nbytes for chunk in chunks)
    write_private(path, [_HEADER.pack(MAGIC, length, digest.digest()), *chunks])


def read_checked(path: Path) -> memoryview:
    """The payload of a checked file, once its length and checksum agree with its header."""
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise SnapshotRejected(f"{len(data)} bytes, shorter than a snapshot header")
    magic, length, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SnapshotRejected(f"not a format-{FORMAT} snapshot")
    payload = memoryview(data)[_HEADER.size :]
    if len(payload) != length:
        raise SnapshotRejected(f"payload of {len(payload)} bytes, the header says {length}")
    if hashlib.sha256(payload).digest() != digest:
        raise SnapshotRejected("checksum does not match the payload")
    return payload


def digest_of(path: Path) -> str:
    """The payload checksum a checked file's header names (hex); the file's meta repeats it."""
    with path.open("rb") as handle:
        header = handle.read(_HEADER.size)
    if len(header) < _HEADER.size or header[: len(MAGIC)] != MAGIC:
        raise SnapshotRejected(f"not a format-{FORMAT} snapshot")
    return str(_HEADER.unpack(header)[2].hex())


def write_private(path: Path, chunks: Iterable[Chunk]) -> None:
    """Create (or truncate) `path` as 0600 and write `chunks` to it, flushed to disk."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())


def replace_atomically(path: Path, write: Callable[[Path], T]) -> T:
    """Have `write` fill a temp file beside `path`, then rename it over `path`, returning what `write`
    returned. The temp name is unique to this process and call, so writers in two processes never
    share one; on failure it is removed and `path` is left as it was."""
    temp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        written = write(temp)
        os.replace(temp, path)
        return written
    finally:
        temp.unlink(missing_ok=True)


def leftover_temp_files(folder: Path, row_id: int, dead_only: bool = False) -> list[Path]:
    """Temp files of collection `row_id`'s snapshots (`<row id>.<kind>[.json].<pid>.<hex>.tmp`);
    `dead_only`: only those whose writing process is gone (killed mid-save)."""
    found = []
    for path in folder.glob(f"{row_id}.*{TEMP_SUFFIX}"):
        pid = path.name.split(".")[-3]
        if not dead_only or (pid.isdigit() and not _alive(int(pid))):
            found.append(path)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def spread(size: int, count: int) -> np.ndarray:
    """Up to `count` positions spread evenly over `size` rows, the same every time: the rows a
    loaded snapshot's spot check compares with the database."""
    if not size:
        return np.zeros(0, np.int64)
    return np.unique(np.linspace(0, size - 1, min(size, count)).astype(np.int64))
