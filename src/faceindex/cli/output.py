"""Terminal output: plain tables for people, JSON for scripts (dataclasses -> Rekognition keys)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from tqdm import tqdm

from faceindex.jsonable import to_jsonable
from faceindex.types import FaceDetail


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2)
    sys.stdout.write("\n")


def say(text: str, stream: TextIO | None = None) -> None:
    """One message while a progress bar may be on screen: tqdm clears the bar, writes, redraws it, so
    no line is drawn over or glued to the bar (print() to stdout would be, with the bar on stderr)."""
    out = stream or sys.stdout
    tqdm.write(text, file=out)
    out.flush()  # a script reading a pipe sees each line as it is done


def json_line(value: Any, stream: TextIO | None = None) -> None:
    """One compact JSON value on one line (JSON Lines), for commands that report item by item."""
    say(json.dumps(to_jsonable(value)), stream)


def iso_time(epoch_seconds: float) -> str:
    """A timestamp as people and `date -d` read it, in UTC: 2026-12-02T10:11:12Z."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def rate(value: float | None) -> str:
    """A false-match rate as people read it: "1 in 2,400" (or "-" when there is none)."""
    if value is None:
        return "-"
    if value <= 0:
        return "< 1 in 10^12"
    return f"1 in {round(1 / value):,}" if value < 0.5 else f"{value:.0%}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def face_row(index: int, face: FaceDetail) -> list[str]:
    box = face.BoundingBox
    pose = face.Pose
    row = [
        str(index),
        f"{box.Left:.3f},{box.Top:.3f}",
        f"{box.Width:.3f}x{box.Height:.3f}",
        f"{face.Confidence:.2f}",
        f"{pose.Roll:+.0f}/{pose.Yaw:+.0f}/{pose.Pitch:+.0f}" if pose else "-",
        f"{face.Quality.Brightness:.0f}/{face.Quality.Sharpness:.0f}" if face.Quality else "-",
        _flag(face.EyesOpen),
        _flag(face.MouthOpen),
    ]
    return row


FACE_HEADERS = ["#", "left,top", "width x height", "confidence", "roll/yaw/pitch", "bright/sharp", "eyes", "mouth"]


def _flag(attribute: Any) -> str:
    if attribute is None:
        return "-"
    return f"{'open' if attribute.Value else 'closed'} ({attribute.Confidence:.0f})"
