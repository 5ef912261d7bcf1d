"""Hostile images through the library: `decode_image` and `FaceEngine.analyze` give faces or a typed
error (a FaceIndexError with a Rekognition code), never another exception, a hang or unbounded memory.

The cases run in a child process (tests/fuzz/run_library.py), watched from here: a case that runs
past CASE_TIMEOUT_S or grows the child's resident set past KILL_GROWTH is killed and named.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from faceindex.pipeline import FaceEngine
from tests.fuzz.budget import GIB, SEED, cases, resident_bytes

ROOT = Path(__file__).resolve().parents[2]
CASES = cases(240)
CASE_TIMEOUT_S = 60.0  # a liveness bound: the slowest legitimate case (40 MP) takes a few seconds
PEAK_GROWTH_LIMIT = int(1.5 * GIB)  # 40 MP images legitimately need ~450 MB
KILL_GROWTH = 3 * GIB  # past this the child is stopped before it takes the machine


@dataclass
class Run:
    """What the child reported, and why it was stopped if it was."""

    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (name, outcome)
    baseline: int = 0
    peak_growth: int = 0
    current: str = "loading the models"  # the case running when the child stopped, if it did
    stopped: str | None = None
    returncode: int | None = None


def _lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def run_cases(model_cache: Path, testdata: Path, log: Path, extra: tuple[str, ...] = ()) -> Run:
    """Runs the child (its stderr to `log`) and watches it until it ends."""
    command = [sys.executable, "-m", "tests.fuzz.run_library", "--seed", str(SEED), "--cases", str(CASES)]
    command += ["--model-cache", str(model_cache), "--testdata", str(testdata)]
    command += ["--case-timeout", str(CASE_TIMEOUT_S), *extra]
    run = Run()
    with log.open("w") as stderr:
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            _watch(child, run)
            if run.stopped:
                child.kill()
            run.returncode = child.wait(30)
        finally:
            if child.poll() is None:  # the test failed while the child ran
                child.kill()
                child.wait()
    return run


def _watch(child: subprocess.Popen[str], run: Run) -> None:
    """Each case must finish within CASE_TIMEOUT_S (the models' loading within 5 minutes) and the
    child's resident set must stay below its baseline plus KILL_GROWTH; else `run.stopped` says why."""
    assert child.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
    deadline, start_rss = time.monotonic() + 300, resident_bytes(child.pid)
    while run.stopped is None:
        try:
            line = lines.get(timeout=0.25)
        except queue.Empty:
            growth = resident_bytes(child.pid) - (run.baseline or start_rss)
            if growth > KILL_GROWTH:
                run.stopped = f"{run.current}: resident set grew by {growth / GIB:.1f} GiB"
            elif time.monotonic() > deadline:
                run.stopped = f"{run.current}: did not finish within {CASE_TIMEOUT_S:.0f} s"
            continue
        if line is None:
            return
        event: dict[str, Any] = json.loads(line)
        if event["event"] == "ready":
            run.baseline = resident_bytes(child.pid)
        elif event["event"] == "start":
            run.current, deadline = event["name"], time.monotonic() + CASE_TIMEOUT_S + 15
        elif event["event"] == "done":
            run.outcomes[event["index"]] = (run.current, event["outcome"])
            run.current = f"after case {event['index']}"
        elif event["event"] == "end":
            run.peak_growth = int(event["peak"])


def test_hostile_images_get_faces_or_a_typed_error(tmp_path: Path, engine: FaceEngine, testdata: Path) -> None:
    _ = engine.model_pack  # converted once for the session; the child finds it ready
    log = tmp_path / "run_library.log"
    run = run_cases(engine.settings.model_cache, testdata, log)
    reproduce = f"(reproduce: python -m tests.fuzz.run_library --seed {SEED} --only INDEX ...; log: {log})"
    assert run.stopped is None, f"{run.stopped} {reproduce}"
    died = f"the child died ({run.returncode}) in {run.current} {reproduce}:\n{log.read_text()[-3000:]}"
    assert run.returncode == 0, died
    assert sorted(run.outcomes) == list(range(CASES))
    outcomes = sorted(run.outcomes.items())
    faults = [f"#{index} {name}: {outcome}" for index, (name, outcome) in outcomes if outcome.startswith("fault")]
    assert faults == [], f"{reproduce}\n" + "\n".join(faults)
    assert run.peak_growth < PEAK_GROWTH_LIMIT, f"peak resident set grew by {run.peak_growth / GIB:.2f} GiB"
    # the generator reaches every door: images with faces, and each kind of refusal
    kinds = Counter(outcome for _, (_, outcome) in outcomes)
    with_faces = sum(count for kind, count in kinds.items() if kind.startswith("ok") and kind != "ok 0 faces")
    assert with_faces >= CASES // 10, kinds
    for code in ("InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"):
        assert kinds[f"typed {code}"] > 0, kinds
