"""Head pose against ground-truth angles (issue 11.3): faceindex's Pose and a dlib + solvePnP peer.

    .venv/bin/python bench/pose.py [--devset ~/.cache/faceindex/devsets/headpose] [--limit N]
        [--peer-upsample 0] [--out bench/results/pose.json]
    .venv/bin/python bench/pose.py --table        # print the table of an existing --out

The photos and angles are the headpose dev set (scripts/devsets/headpose.py): yaw, pitch, roll in degrees
in Rekognition's convention (Yaw > 0 turned towards the image's right, Pitch > 0 looking up, Roll > 0
clockwise as seen). Every photo and its horizontal mirror go through, in one process:

  * faceindex: FaceEngine(Settings()).analyze(pixels), the default pipeline; its Pose as returned;
  * the peer, the common "learnopencv" recipe: dlib's MMOD (CNN) detections (faceindex's onnxruntime copy of
    it), dlib's 68-point shape predictor (face_recognition_models), cv2.solvePnP (iterative) of six of
    the 68 points (nose tip, chin, eye and mouth corners) on the recipe's generic 3-D head, focal length =
    image width; its rotation turned into Rekognition's angles here. One guard is added: the iterative
    solver's bad minimum (a head upside down or facing away) is solved again from EPnP's start, and a face
    still implausible counts as no face.

Each set's labels are Euler angles in that set's own order, so each method's rotation is expressed in it
before it is compared (the same rotation, decomposed as the labels are; `EULER`):

  * pointing04: Rekognition's order as faceindex gives it, R = Rz(roll) Ry(yaw) Rx(pitch): yaw and pitch are
    the azimuth and elevation of the direction faced, as Pointing'04's grid of marks is laid out;
  * aflw2000: Pose_Para's order (3DDFA's RotationMatrix.m), R = Rx(pitch) Ry(yaw) Rz(roll): roll about the
    face's own axis, pitch last about the camera's x. Yaw 60, Pitch 20, Roll 0 in the first order is Yaw 54,
    Pitch 36, Roll -31 in the second; they agree within 2 degrees only while every angle is under 10.

Of each method's faces the one taken is the one overlapping the annotated face box most (its centre
inside the detection, or IoU >= 0.2); a photo where none does counts as "no face": listed, and left out of
the errors. Per set and method: mean absolute error per angle and the mean of the annotated angles, Pearson r
with the truth per angle (a flipped sign shows as r < 0), yaw error by |yaw| band, and mirror consistency
(median |Yaw + Yaw'|, |Roll + Roll'|, |Pitch - Pitch'| over photos found both ways). Pointing'04 has no
roll annotation: its roll is only compared with upright (0) and kept out of the mean.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib
import face_recognition_models
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))  # machine_info, also when a test loads this file

from faceindex.config import Settings  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402
from machine_info import machine as machine_of  # noqa: E402

ANGLES = ("yaw", "pitch", "roll")
DEFAULT_DEVSET = Path.home() / ".cache" / "faceindex" / "devsets" / "headpose"
OURS = "faceindex (default pipeline)"
PEER = "dlib 68 + solvePnP (learnopencv), MMOD boxes"
YAW_BANDS = ((0.0, 30.0), (30.0, 60.0), (60.0, 180.0))
EULER = {"pointing04": "zyx", "aflw2000": "xyz"}  # the order each set's labels are in (above)
MIN_IOU = 0.2

Box = tuple[float, float, float, float]
Angles = tuple[float, float, float]  # yaw, pitch, roll in Rekognition's convention
Method = Callable[[npt.NDArray[np.uint8]], list[tuple[Box, Angles]]]

# The learnopencv head (arbitrary units; x to the image's right, y up, z towards the viewer), by dlib index.
GENERIC_HEAD = {
    30: (0.0, 0.0, 0.0),  # nose tip
    8: (0.0, -330.0, -65.0),  # chin
    36: (-225.0, 170.0, -135.0),  # outer corner of the eye on the image's left
    45: (225.0, 170.0, -135.0),  # outer corner of the eye on the image's right
    48: (-150.0, -150.0, -125.0),  # mouth corner, image's left
    54: (150.0, -150.0, -125.0),  # mouth corner, image's right
}


@dataclass(frozen=True)
class Photo:
    file: str
    dataset: str
    truth: tuple[float, float, float | None]  # yaw, pitch, roll (None: not annotated)
    box: Box


@dataclass
class Outcome:
    found: Angles | None
    mirrored: Angles | None


# --- the methods ------------------------------------------------------------------------------------------


def faceindex_method(engine: FaceEngine) -> Method:
    def run(pixels: npt.NDArray[np.uint8]) -> list[tuple[Box, Angles]]:
        found = []
        for face in engine.analyze(pixels, embed=False):
            box, pose = face.box, face.detail.Pose
            if pose is not None:
                found.append(((box.left, box.top, box.right, box.bottom), (pose.Yaw, pose.Pitch, pose.Roll)))
        return found

    return run


def rekognition_angles(rotation: npt.NDArray[np.float64]) -> Angles:
    """Yaw, pitch, roll of a head-to-camera rotation (camera axes: x right, y down, z away from the camera).

    R = Rz(c) Ry(b) Rx(a) in camera axes; a face turning to the image's right turns about y by -Yaw, one
    looking up about x by -Pitch, and a clockwise roll (as seen, y down) is +Roll about z.
    """
    a = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    b = math.degrees(math.asin(max(-1.0, min(1.0, -rotation[2, 0]))))
    c = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return -b, -a, c


def solve(
    head: npt.NDArray[np.float64], image_points: npt.NDArray[np.float64], camera: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64] | None:
    """The recipe's iterative solvePnP. Its known bad minimum is a head upside down or facing away (Roll
    near 180 for an upright face), so that one is solved again from EPnP's start."""
    ok, rvec, tvec = cv2.solvePnP(head, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    if ok and implausible(rvec):
        ok, rvec, tvec = cv2.solvePnP(head, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_EPNP)
        if ok:
            ok, rvec, tvec = cv2.solvePnP(head, image_points, camera, np.zeros(4), rvec, tvec, True)
    return rotation_of(rvec) if ok and not implausible(rvec) else None


def rotation_of(rvec: object) -> npt.NDArray[np.float64]:
    return np.asarray(cv2.Rodrigues(np.asarray(rvec, dtype=np.float64))[0], dtype=np.float64)


def implausible(rvec: object) -> bool:
    rotation = rotation_of(rvec)
    # facing away: the head's forward axis points from the camera; upside down: |Roll| past 90
    return bool(rotation[2, 2] < 0) or abs(rekognition_angles(rotation)[2]) > 90


def solvepnp_method(engine: FaceEngine) -> Method:
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    # the head in camera axes: y down, z away from the camera (a proper rotation of the recipe's axes)
    head = np.array(list(GENERIC_HEAD.values()), dtype=np.float64) * np.array([1.0, -1.0, -1.0])

    def run(pixels: npt.NDArray[np.uint8]) -> list[tuple[Box, Angles]]:
        height, width = pixels.shape[:2]
        camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
        found = []
        for detection in engine.detector.detect(pixels):
            b = detection.box
            shape = predictor(pixels, dlib.rectangle(round(b.left), round(b.top), round(b.right), round(b.bottom)))
            image_points = np.array([(shape.part(i).x, shape.part(i).y) for i in GENERIC_HEAD], dtype=np.float64)
            rotation = solve(head, image_points, camera)
            if rotation is not None:
                found.append(((b.left, b.top, b.right, b.bottom), rekognition_angles(rotation)))
        return found

    return run


# --- Euler orders -----------------------------------------------------------------------------------------


def _axis(axis: int, degrees: float) -> npt.NDArray[np.float64]:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    rotation = np.eye(3)
    rotation[i, i], rotation[i, j], rotation[j, i], rotation[j, j] = c, -s, s, c
    return rotation


def rotation_of_angles(angles: Angles) -> npt.NDArray[np.float64]:
    """The rotation Rekognition's angles stand for (analysis/pose.py): Rz(-Roll) Ry(Yaw) Rx(-Pitch) in
    x-right, y-up, z-to-camera axes."""
    yaw, pitch, roll = angles
    return _axis(2, -roll) @ _axis(1, yaw) @ _axis(0, -pitch)


def in_order(angles: Angles, order: str) -> Angles:
    """Yaw, pitch, roll (Rekognition's signs) of the same rotation decomposed in `order`: "zyx" is
    Rekognition's own (unchanged), "xyz" is R = Rx(-Pitch) Ry(Yaw) Rz(-Roll), Pose_Para's."""
    if order == "zyx":
        return angles
    r = rotation_of_angles(angles)
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, r[0, 2]))))
    pitch = -math.degrees(math.atan2(-r[1, 2], r[2, 2]))
    roll = -math.degrees(math.atan2(-r[0, 1], r[0, 0]))
    return yaw, pitch, roll


# --- matching and scoring ---------------------------------------------------------------------------------


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def subject(found: list[tuple[Box, Angles]], box: Box) -> Angles | None:
    """The face that is the annotated one: the best IoU among those holding its centre or overlapping it."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    candidates = [
        (iou(b, box), angles)
        for b, angles in found
        if iou(b, box) >= MIN_IOU or (b[0] <= cx <= b[2] and b[1] <= cy <= b[3])
    ]
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def mirror_box(box: Box, width: int) -> Box:
    return (width - box[2], box[1], width - box[0], box[3])


def difference(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3 or statistics.pstdev(xs) == 0 or statistics.pstdev(ys) == 0:
        return None
    return round(statistics.correlation(xs, ys), 3)


def score(photos: list[Photo], outcomes: list[Outcome], order: str = "zyx") -> dict[str, Any]:
    """Errors against the labels with each rotation in the labels' Euler `order`; mirror consistency on the
    angles as returned."""
    labelled = [Outcome(None if o.found is None else in_order(o.found, order), o.mirrored) for o in outcomes]
    pairs = [(p, o.found) for p, o in zip(photos, labelled, strict=True) if o.found is not None]
    result: dict[str, Any] = {
        "images": len(photos),
        "found": len(pairs),
        "no_face": [p.file for p, o in zip(photos, outcomes, strict=True) if o.found is None],
        "mae": {},
        "pearson": {},
    }
    annotated = []
    for i, angle in enumerate(ANGLES):
        truth = [(t, found[i]) for p, found in pairs if (t := p.truth[i]) is not None]
        if truth:
            annotated.append(angle)
            result["mae"][angle] = round(statistics.fmean(difference(t, f) for t, f in truth), 2)
            result["pearson"][angle] = pearson([t for t, _ in truth], [f for _, f in truth])
    result["mae"]["mean"] = round(statistics.fmean(result["mae"][a] for a in annotated), 2) if annotated else None
    result["mean_of"] = annotated
    if pairs and "roll" not in annotated:  # not annotated: the head is upright in these sets, so 0 is a proxy
        result["roll_vs_upright_mae"] = round(statistics.fmean(abs(found[2]) for _, found in pairs), 2)
    result["euler_order"] = order
    result["yaw_by_band"] = yaw_bands(photos, labelled)
    result["mirror"] = mirror_stats(outcomes)
    return result


def in_band(value: float, low: float, high: float) -> bool:
    return (low < value or low == 0.0) and value <= high


def yaw_bands(photos: list[Photo], outcomes: list[Outcome]) -> dict[str, Any]:
    bands: dict[str, Any] = {}
    for low, high in YAW_BANDS:
        # [0, 30], (30, 60], (60, 90]: AFLW2000's usual yaw bands
        inside = [(p, o) for p, o in zip(photos, outcomes, strict=True) if in_band(abs(p.truth[0]), low, high)]
        if not inside:
            continue
        errors = [difference(p.truth[0], o.found[0]) for p, o in inside if o.found is not None]
        bands[f"{low:.0f}-{min(high, 90.0):.0f}"] = {
            "images": len(inside),
            "found": len(errors),
            "yaw_mae": round(statistics.fmean(errors), 2) if errors else None,
        }
    return bands


def mirror_stats(outcomes: list[Outcome]) -> dict[str, Any]:
    both = [(o.found, o.mirrored) for o in outcomes if o.found is not None and o.mirrored is not None]
    if not both:
        return {"pairs": 0}
    return {
        "pairs": len(both),
        "yaw_sum_median": round(statistics.median(abs(a[0] + b[0]) for a, b in both), 2),
        "roll_sum_median": round(statistics.median(abs(a[2] + b[2]) for a, b in both), 2),
        "pitch_difference_median": round(statistics.median(abs(a[1] - b[1]) for a, b in both), 2),
    }


# --- running ----------------------------------------------------------------------------------------------


def read_manifest(devset: Path) -> list[Photo]:
    photos = []
    with (devset / "manifest.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            roll = float(row["roll"]) if row["roll"] else None
            box = (float(row["box_left"]), float(row["box_top"]), float(row["box_right"]), float(row["box_bottom"]))
            photos.append(Photo(row["file"], row["dataset"], (float(row["yaw"]), float(row["pitch"]), roll), box))
    return photos


def run_all(
    engine: FaceEngine, devset: Path, photos: list[Photo], methods: dict[str, Method]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scores per set and method, and every photo's angles (found, mirrored) per method."""
    outcomes: dict[str, list[Outcome]] = {name: [] for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    started = time.perf_counter()
    for index, photo in enumerate(photos, 1):
        pixels = engine.decode(devset / photo.file).pixels
        flipped = np.ascontiguousarray(pixels[:, ::-1])
        width = pixels.shape[1]
        for name, method in methods.items():
            began = time.perf_counter()
            found = subject(method(pixels), photo.box)
            mirrored = subject(method(flipped), mirror_box(photo.box, width))
            seconds[name] += time.perf_counter() - began
            outcomes[name].append(Outcome(found, mirrored))
        if index % 100 == 0 or index == len(photos):
            print(f"{index}/{len(photos)} photos, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    sets: dict[str, Any] = {}
    for dataset in dict.fromkeys(p.dataset for p in photos):
        chosen = [i for i, p in enumerate(photos) if p.dataset == dataset]
        subset = [photos[i] for i in chosen]
        order = EULER.get(dataset, "zyx")
        sets[dataset] = {name: score(subset, [outcomes[name][i] for i in chosen], order) for name in methods}
    for name in methods:  # per photo, both orientations
        for entry in sets.values():
            entry[name]["ms_per_image"] = round(1000 * seconds[name] / (2 * len(photos)), 1)
    per_photo = {photo.file: {name: both(o[i]) for name, o in outcomes.items()} for i, photo in enumerate(photos)}
    return sets, per_photo


def both(outcome: Outcome) -> dict[str, list[float] | None]:
    return {"found": rounded(outcome.found), "mirrored": rounded(outcome.mirrored)}


def rounded(angles: Angles | None) -> list[float] | None:
    return None if angles is None else [round(a, 2) for a in angles]


def machine() -> dict[str, Any]:
    return machine_of(dlib=dlib.__version__, opencv=cv2.__version__, threads=os.environ.get("FACEINDEX_THREADS"))


def table(results: dict[str, Any]) -> None:
    print(
        "| set | method | found | yaw MAE | pitch MAE | roll MAE | mean | r yaw/pitch/roll | mirror yaw, roll, pitch |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset, methods in results["sets"].items():
        for name, s in methods.items():
            mae, r, m = s["mae"], s["pearson"], s["mirror"]
            roll = mae.get("roll", f"({s['roll_vs_upright_mae']} vs 0)" if "roll_vs_upright_mae" in s else "-")
            rs = " / ".join(str(r.get(a, "-")) for a in ANGLES)
            mirror = (
                f"{m['yaw_sum_median']}, {m['roll_sum_median']}, {m['pitch_difference_median']}" if m["pairs"] else "-"
            )
            mean = f"{mae['mean']} ({'+'.join(s['mean_of'])})"
            row = [
                dataset,
                name,
                f"{s['found']}/{s['images']}",
                mae.get("yaw"),
                mae.get("pitch"),
                roll,
                mean,
                rs,
                mirror,
            ]
            print("| " + " | ".join(str(v) for v in row) + " |")  # fmt: skip
    print("\n| set | method | " + " | ".join(f"yaw {band}: found, MAE" for band in band_names(results)) + " |")
    print("|---|---|" + "---|" * len(band_names(results)))
    for dataset, methods in results["sets"].items():
        for name, s in methods.items():
            bands = s["yaw_by_band"]
            cells = [
                f"{b['found']}/{b['images']}, {b['yaw_mae']}" if (b := bands.get(n)) else "-"
                for n in band_names(results)
            ]
            print(f"| {dataset} | {name} | " + " | ".join(cells) + " |")  # fmt: skip
    m = results["machine"]
    orders = {"zyx": "Rz·Ry·Rx, Rekognition's", "xyz": "Rx·Ry·Rz, Pose_Para's"}
    used = {d: next(iter(ms.values())).get("euler_order", "zyx") for d, ms in results["sets"].items()}
    print(
        "\nErrors with each rotation in its set's Euler order ("
        + "; ".join(f"{d}: {orders[o]}" for d, o in used.items())
        + "). "
        f"Degrees; MAE over the photos where the method found the annotated face; mirror columns are medians of "
        f"|Yaw + Yaw'|, |Roll + Roll'|, |Pitch - Pitch'|. Machine: {m['cpus']} CPUs, faceindex {m['faceindex_commit']}"
        f"{' (engine files changed)' if m['engine_files_changed'] else ''}, {results['date']}."
    )


def band_names(results: dict[str, Any]) -> list[str]:
    return list(
        dict.fromkeys(n for methods in results["sets"].values() for s in methods.values() for n in s["yaw_by_band"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    parser.add_argument("--limit", type=int, default=0, help="every k-th photo so that about N are run (0: all)")
    parser.add_argument("--peer-upsample", type=int, default=0, help="MMOD upsampling for the peer's boxes")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/pose.json")
    parser.add_argument("--table", action="store_true", help="only print the table of an existing --out")
    args = parser.parse_args()
    if args.table:
        table(json.loads(args.out.read_text()))
        return

    photos = read_manifest(args.devset.expanduser())
    if args.limit and len(photos) > args.limit:
        photos = photos[:: math.ceil(len(photos) / args.limit)]
    engine = FaceEngine(Settings())
    methods = {OURS: faceindex_method(engine), PEER: solvepnp_method(engine.with_detector("mmod", args.peer_upsample))}
    results = {
        "machine": machine(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "devset": str(args.devset),
        "settings": {"peer_mmod_upsample": args.peer_upsample, "min_iou": MIN_IOU, "photos": len(photos)},
    }
    results["sets"], per_photo = run_all(engine, args.devset.expanduser(), photos, methods)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    # each photo's angles (the sets' labels among them) stay beside the dev set, outside the repository
    photos_out = args.devset.expanduser() / "pose-per-photo.json"
    photos_out.write_text(json.dumps(per_photo) + "\n")
    table(results)


if __name__ == "__main__":
    main()
