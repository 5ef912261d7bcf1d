"""What a benchmark records of the machine and the code it measured, one function for every bench script."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime

ROOT = Path(__file__).resolve().parents[1]


def machine(engine_paths: Sequence[str] = ("src/faceindex",), **extra: Any) -> dict[str, Any]:
    """CPUs, platform, Python, onnxruntime, the commit and whether `engine_paths` had uncommitted changes,
    then the bench's own entries (`extra`: its peers' versions, threads, load)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "faceindex_commit": git("rev-parse", "--short=12", "HEAD"),
        "engine_files_changed": bool(git("status", "--porcelain", "--", *engine_paths)),
        **extra,
    }
