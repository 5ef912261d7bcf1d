"""The fuzz suite's seed, size and memory reading. The seed is fixed by default, so CI runs the same
cases every time; change it by hand for a longer hunt (FACEINDEX_FUZZ_SEED=7 FACEINDEX_FUZZ_SCALE=10
pytest tests/fuzz)."""

from __future__ import annotations

import os
from pathlib import Path

SEED = int(os.environ.get("FACEINDEX_FUZZ_SEED", "20260901"))
SCALE = float(os.environ.get("FACEINDEX_FUZZ_SCALE", "1"))
GIB = 1 << 30


def cases(default: int) -> int:
    return max(1, round(default * SCALE))


def resident_bytes(pid: int) -> int:
    """The process's resident set now (0 once it has gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
