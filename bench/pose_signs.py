"""Rekognition's Pose sign conventions, read off published Rekognition responses (issue 11.3).

    .venv/bin/python bench/pose_signs.py [MORE_FILES_OR_GIT_SNAPSHOTS ...]

AWS documents Pose only as "the face rotation on the pitch/roll/yaw axis", -180..180, with no signs. Each
published FaceDetail that holds both Pose and Landmarks shows them, because Rekognition's own landmarks move
with the head: the nose tip shifts along the eye line as the face turns (yaw), drops towards the mouth as
it looks down (pitch), and the eye line tilts as the head rolls. This reads every such FaceDetail in the AWS
CLI's Rekognition examples (installed with awscli, a [dev] dependency) and in any further text files or git
snapshots given (e.g. /work/.mirror/awsdocs+amazon-rekognition-developer-guide/repo, the Developer Guide's
source), and prints per face: Yaw against the nose's offset along the eye line (in eye distances, > 0
towards the image's right), Pitch against the nose's drop from the eyes towards the mouth (0..1), Roll
against the eye line's angle in the image (degrees, y down: > 0 clockwise as seen), then the correlations.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awscli

EXAMPLES = Path(awscli.__file__).parent / "examples" / "rekognition"
POINTS = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


def json_objects(text: str) -> Iterator[Any]:
    """Every top-level {...} in a text that parses as JSON (the examples sit in prose and code fences)."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            start = i if depth == 0 else start
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                try:
                    yield json.loads(text[start : i + 1])
                except ValueError:
                    continue


def face_details(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("Pose"), dict) and isinstance(node.get("Landmarks"), list):
            yield node
        for value in node.values():
            yield from face_details(value)
    elif isinstance(node, list):
        for value in node:
            yield from face_details(value)


def measures(face: dict[str, Any]) -> tuple[float, float, float] | None:
    """Nose offset along the eye line, nose drop towards the mouth, eye-line angle."""
    marks: dict[str, tuple[float, float]] = {
        str(m["Type"]): (float(m["X"]), float(m["Y"]))
        for m in face["Landmarks"]
        if isinstance(m, dict) and {"Type", "X", "Y"} <= m.keys()
    }
    if not all(p in marks for p in POINTS):
        return None
    (lx, ly), (rx, ry), (nx, ny) = marks["eyeLeft"], marks["eyeRight"], marks["nose"]
    ex, ey = (lx + rx) / 2, (ly + ry) / 2
    mx, my = (marks["mouthLeft"][0] + marks["mouthRight"][0]) / 2, (marks["mouthLeft"][1] + marks["mouthRight"][1]) / 2
    along = ((nx - ex) * (rx - lx) + (ny - ey) * (ry - ly)) / ((rx - lx) ** 2 + (ry - ly) ** 2)
    drop = ((nx - ex) * (mx - ex) + (ny - ey) * (my - ey)) / ((mx - ex) ** 2 + (my - ey) ** 2)
    return along, drop, math.degrees(math.atan2(ry - ly, rx - lx))


def texts(extra: list[str]) -> Iterator[tuple[str, str]]:
    for path in sorted(EXAMPLES.glob("*.rst")):
        yield f"awscli examples/{path.name}", path.read_text(encoding="utf-8")
    for item in extra:
        path = Path(item)
        if path.is_file():
            yield str(path), path.read_text(encoding="utf-8", errors="replace")
            continue
        git = ["git", f"--git-dir={path / '.git' if (path / '.git').is_dir() else path}"]
        found = subprocess.run([*git, "grep", "-l", '"eyeLeft"', "HEAD"], capture_output=True, text=True).stdout
        for name in found.split():
            shown = subprocess.run([*git, "show", name], capture_output=True, text=True).stdout
            label = next((part.replace("+", "/") for part in reversed(path.parts) if "+" in part), path.name)
            yield f"{label}:{name.removeprefix('HEAD:')}", shown


def main() -> None:
    rows, seen = [], set()
    for source, text in texts(sys.argv[1:]):
        for face in (f for obj in json_objects(text) for f in face_details(obj)):
            pose, measured = face["Pose"], measures(face)
            key = (pose.get("Yaw"), pose.get("Pitch"), pose.get("Roll"))
            if measured is None or None in key or key in seen:
                continue  # the same response is often quoted twice
            seen.add(key)
            rows.append((source, float(pose["Yaw"]), float(pose["Pitch"]), float(pose["Roll"]), *measured))
    print("| source | Yaw | nose along eyes | Pitch | nose drop | Roll | eye-line angle |")
    print("|---|---|---|---|---|---|---|")
    for source, yaw, pitch, roll, along, drop, angle in rows:
        print(f"| {source} | {yaw:.1f} | {along:+.3f} | {pitch:.1f} | {drop:.3f} | {roll:.1f} | {angle:.1f} |")
    if len(rows) < 3:
        return
    columns = list(zip(*rows, strict=True))
    agree = sum(1 for r in rows if r[1] * r[4] > 0)
    print(
        f"\n{len(rows)} faces. Yaw: its sign is that of the nose's offset towards the image's right in {agree}; "
        f"r = {statistics.correlation(columns[1], columns[4]):.2f}. "
        f"Pitch vs nose drop r = {statistics.correlation(columns[2], columns[5]):.2f} (< 0: Pitch > 0 looks up). "
        f"Roll vs eye-line angle r = {statistics.correlation(columns[3], columns[6]):.2f} (> 0: clockwise as seen)."
    )


if __name__ == "__main__":
    main()
