"""The one place that names a concrete store: "sqlite" (the embedded default) or "memory"."""

from __future__ import annotations

from pathlib import Path

from faceindex.store.base import Store

STORES = ("sqlite", "memory")


def open_store(kind: str, data_dir: Path, max_bytes: int = 0) -> Store:
    """`sqlite`: `<data_dir>/faceindex.db` (0600 in a 0700 folder; `max_bytes` caps it, 0 for none);
    `memory`: nothing on disk, gone with the process (tests, throwaway use)."""
    if kind == "sqlite":
        from faceindex.store.sqlite.store import SqliteStore

        return SqliteStore(data_dir / "faceindex.db", max_bytes=max_bytes)
    if kind == "memory":
        from faceindex.store.memory import MemoryStore

        return MemoryStore()
    raise ValueError(f"unknown store {kind!r}: choose from {', '.join(STORES)}")
