"""Giving freed memory back to the system after a large request.

glibc keeps the memory freed after a big image in its arenas (a 40 MP photo leaves ~200 MB resident
for good); `malloc_trim` returns it. A trim costs ~2 ms on a warm heap, so callers trim only after
work during which the process grew by `TRIM_AFTER_GROWTH` or more. Elsewhere than glibc, a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable

TRIM_AFTER_GROWTH = 64 * 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """The process's resident set size now (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def trim() -> None:
    """Return free heap pages to the system (glibc's malloc_trim)."""
    malloc_trim = _malloc_trim()
    if malloc_trim is not None:
        malloc_trim(0)


def trim_if_grown(resident_before: int) -> bool:
    """Trim when the process holds `TRIM_AFTER_GROWTH` more than it did before the work; True if it did."""
    if resident_bytes() - resident_before < TRIM_AFTER_GROWTH:
        return False
    trim()
    return True
