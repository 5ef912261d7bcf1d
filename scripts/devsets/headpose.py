"""Head-pose photos with ground-truth angles (issue 11.3), found in public repository snapshots.

    python scripts/devsets/headpose.py /work/.mirror/Dalyah+G-Project/repo/.git /work/.mirror/yfeng95+PRNet/repo
        [--max-angle 99] [--out ~/.cache/faceindex/devsets/headpose]

Each snapshot is searched for the two sets below (either or both may be in one snapshot):

  pointing04  Pointing'04 / INRIA Head Pose Image Database: PersonNN/personNNSMM<tilt><pan>.jpg, 15 people x 2
              series x 93 poses (tilt and pan in the name, degrees on a 15-30 degree grid; no roll), with a
              .txt beside each photo giving the face's centre, width and height. The Front/ copies are skipped.
  aflw2000    AFLW2000-3D: AFLW2000/imageNNNNN.jpg with imageNNNNN.mat (Pose_Para = pitch, yaw, roll in radians,
              then translation and scale; pt3d_68 = the 68 fitted landmarks, which give the face box).

Writes OUT/images/<dataset>/... (bytes unchanged) and OUT/manifest.csv: file, dataset, yaw, pitch, roll (degrees,
Rekognition's convention, below; roll is empty where the set does not annotate it), box_left, box_top,
box_right, box_bottom (the annotated face, pixels), width, height, native (the set's own labels), source
(github:owner/name@commit:path), licence.

Rekognition's convention (inferred from the Landmarks and Pose of published Rekognition responses, see
docs/devsets.md): Yaw > 0 the face turns towards the image's right (the subject's own left); Pitch > 0 it looks
up; Roll > 0 it is turned clockwise as seen in the image (the eye on the image's right is lower). Conversions,
checked on the photos and on the sets' own landmarks:
  pointing04  Yaw = -pan, Pitch = tilt (pan < 0 faces the image's right, tilt > 0 looks up)
  aflw2000    Yaw = -yaw, Pitch = pitch, Roll = roll (Pose_Para in degrees)
The angles keep each set's Euler order (bench/pose.py compares in it): Pointing'04's pan and tilt are the azimuth
and elevation of the mark faced, Rekognition's own order R = Rz(roll) Ry(yaw) Rx(pitch); Pose_Para's is 3DDFA's
RotationMatrix.m, R = Rx(pitch) Ry(yaw) Rz(roll).
Photos with any |angle| > --max-angle are left out (HopeNet's and 6DRepNet's practice on AFLW2000: 99).
"""

from __future__ import annotations

import argparse
import io
import math
import re
import shutil
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snapshot import DEFAULT_ROOT, Snapshot, write_csv

NAME = "headpose"
HEADER = [
    "file", "dataset", "yaw", "pitch", "roll", "box_left", "box_top", "box_right", "box_bottom",
    "width", "height", "native", "source", "licence",
]  # fmt: skip
POINTING04 = re.compile(r"(?:^|/)Person(\d\d)/person(\d\d)(\d)(\d\d)([+-]\d+)([+-]\d+)\.jpg$")
AFLW2000 = re.compile(r"(?:^|/)AFLW2000[^/]*/image(\d{5})\.jpg$")
LICENCES = {
    "pointing04": (
        "Head Pose Image Database (Pointing'04), (c) 2004 INRIA Rhone-Alpes: any use provided N. Gourier, D. Hall, "
        "J. L. Crowley, 'Estimating Face Orientation from Robust Detection of Salient Facial Features', Pointing "
        "2004 (ICPR workshop) is cited (README.txt in the snapshot)"
    ),
    "aflw2000": (
        "AFLW2000-3D (Zhu et al., CVPR 2016) of AFLW (Koestinger et al. 2011): Flickr photos, AFLW's terms are "
        "non-commercial research only; development use on this machine only, never redistributed"
    ),
}


@dataclass(frozen=True)
class Sample:
    dataset: str
    file: str  # under OUT
    path: str  # in the snapshot
    yaw: float
    pitch: float
    roll: float | None
    box: tuple[float, float, float, float]
    native: str


# --- MATLAB 5 files (AFLW2000's .mat), read with the standard library --------------------------------------

MAT_TYPES = {1: "b", 2: "B", 3: "h", 4: "H", 5: "i", 6: "I", 7: "f", 9: "d", 12: "q", 13: "Q"}
MI_MATRIX, MI_COMPRESSED = 14, 15


def _elements(buf: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 8 <= len(buf):
        kind, size = struct.unpack_from("<II", buf, pos)
        if kind >> 16:  # "small data element": size and type share the first word, data in the second
            yield kind & 0xFFFF, buf[pos + 4 : pos + 4 + (kind >> 16)]
            pos += 8
            continue
        yield kind, buf[pos + 8 : pos + 8 + size]
        pos += 8 + size + (0 if kind == MI_COMPRESSED else -size % 8)  # compressed elements are not padded


def read_mat5(data: bytes) -> dict[str, list[float]]:
    """The numeric arrays of a MATLAB 5 file, by name, flattened in MATLAB's column-major order."""
    arrays: dict[str, list[float]] = {}
    for kind, body in _elements(data[128:]):
        if kind == MI_COMPRESSED:
            kind, body = next(_elements(zlib.decompress(body)))
        if kind != MI_MATRIX:
            continue
        parts = list(_elements(body))  # flags, dimensions, name, real part
        if len(parts) < 4 or parts[3][0] not in MAT_TYPES:
            continue
        code = MAT_TYPES[parts[3][0]]
        raw = parts[3][1]
        arrays[parts[2][1].decode("ascii", "replace")] = [
            float(v) for v in struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw)
        ]
    return arrays


# --- the two sets -------------------------------------------------------------------------------------------


def pointing04(snap: Snapshot, paths: list[str]) -> Iterator[Sample]:
    texts = dict(snap.read([p[:-4] + ".txt" for p in paths]))
    for path in paths:
        match = POINTING04.search(path)
        assert match is not None
        person, tilt, pan = match.group(1), int(match.group(5)), int(match.group(6))
        lines = texts.get(path[:-4] + ".txt", b"").decode("ascii", "replace").split()
        if len(lines) < 6 or lines[1] != "Face":
            continue  # no face annotation: cannot tell which detection is the subject
        cx, cy, w, h = (float(v) for v in lines[2:6])
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        name = path.rsplit("/", 1)[-1]
        yield Sample(
            "pointing04", f"images/pointing04/Person{person}/{name}", path,
            yaw=float(-pan), pitch=float(tilt), roll=None, box=box, native=f"tilt={tilt:+d} pan={pan:+d}",
        )  # fmt: skip


def aflw2000(snap: Snapshot, paths: list[str]) -> Iterator[Sample]:
    mats = dict(snap.read([p[:-4] + ".mat" for p in paths]))
    for path in paths:
        arrays = read_mat5(mats.get(path[:-4] + ".mat", b""))
        pose, points = arrays.get("Pose_Para"), arrays.get("pt3d_68")
        if pose is None or len(pose) < 3 or points is None or len(points) != 3 * 68:
            continue
        pitch, yaw, roll = (math.degrees(v) for v in pose[:3])
        xs, ys = points[0::3], points[1::3]  # 3 x 68, column-major: x, y, z of each landmark in turn
        name = path.rsplit("/", 1)[-1]
        yield Sample(
            "aflw2000", f"images/aflw2000/{name}", path,
            yaw=-yaw, pitch=pitch, roll=roll, box=(min(xs), min(ys), max(xs), max(ys)),
            native=f"Pose_Para pitch={pose[0]:.6f} yaw={pose[1]:.6f} roll={pose[2]:.6f} rad",
        )  # fmt: skip


def repository(snap: Snapshot) -> str:
    """github:owner/name from a /work/.mirror/owner+name/... path, else the path itself."""
    for part in reversed(snap.path.resolve().parts):
        if "+" in part:
            owner, _, name = part.partition("+")
            return f"github:{owner}/{name}"
    return snap.origin


def find(snap: Snapshot) -> Iterator[Sample]:
    files = snap.files()
    yield from pointing04(snap, sorted(p for p in files if POINTING04.search(p)))
    yield from aflw2000(snap, sorted(p for p in files if AFLW2000.search(p)))


def fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def extract(snap: Snapshot, out: Path, max_angle: float, seen: set[str]) -> list[list[object]]:
    samples = [s for s in find(snap) if s.file not in seen]
    kept = [s for s in samples if max(abs(s.yaw), abs(s.pitch), abs(s.roll or 0.0)) <= max_angle]
    print(f"{snap.path}: {len(samples)} labelled photos, {len(samples) - len(kept)} past {max_angle} degrees")
    by_path = {s.path: s for s in kept}
    rows: list[list[object]] = []
    for path, data in snap.read(sorted(by_path)):
        sample = by_path[path]
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                width, height = im.size
        except (OSError, SyntaxError):
            continue
        (out / sample.file).parent.mkdir(parents=True, exist_ok=True)
        (out / sample.file).write_bytes(data)
        seen.add(sample.file)
        rows.append([
            sample.file, sample.dataset, fmt(sample.yaw), fmt(sample.pitch), fmt(sample.roll),
            *(f"{v:.1f}" for v in sample.box), width, height, sample.native,
            f"{repository(snap)}@{snap.commit[:12]}:{path}", LICENCES[sample.dataset],
        ])  # fmt: skip
        if len(rows) % 500 == 0:
            print(f"  {len(rows)} written")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshots", type=Path, nargs="+", help="fetched snapshot paths (bare git dirs)")
    parser.add_argument("--max-angle", type=float, default=99.0, help="leave out photos with any |angle| above")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT / NAME)
    args = parser.parse_args(argv)

    out: Path = args.out.expanduser()
    if (out / "images").exists():
        shutil.rmtree(out / "images")
    rows: list[list[object]] = []
    seen: set[str] = set()
    for path in args.snapshots:
        rows += extract(Snapshot(path), out, args.max_angle, seen)
    if not rows:
        raise SystemExit("no Pointing'04 or AFLW2000 photos with labels in the snapshots given")
    write_csv(out / "manifest.csv", HEADER, rows)
    counts = {d: sum(1 for r in rows if r[1] == d) for d in dict.fromkeys(str(r[1]) for r in rows)}
    print(f"{out}: {len(rows)} photos {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
