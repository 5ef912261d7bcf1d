"""Descriptor quality (issue 12.1): 1:1 verification on the celeba_people pairs, faceindex against face_recognition.

    .venv/bin/python bench/verification.py [--devset ~/.cache/faceindex/devsets/celeba_people] [--limit N]
        [--jitters 5 10] [--out bench/results/verification.json]
    .venv/bin/python bench/verification.py --table        # print the table of an existing --out

The pairs are the dev set's pairs.csv (scripts/devsets/celeba_people.py): 3,000 mated and 3,000 non-mated pairs
in 10 folds whose people do not overlap. Each photo is decoded once (faceindex's decoder, EXIF-rotated) and every
method gets the same pixels; each photo's descriptor is computed once per method. Of the faces a method finds in
a photo the largest (box area) is the photo's face, for every method: CelebA's photos "in the wild" may hold
several faces, and the labelled person is nearly always the largest.

Methods (distance: Euclidean between the 128-D descriptors, as face_recognition and dlib compare them):
  * peer: face_recognition 1.3.0 with its defaults: face_locations (HOG, upsample 1), face_encodings
    (num_jitters=1, model="small": dlib's 5-point shape on the HOG box, dlib's ResNet);
  * faceindex default: FaceEngine(Settings()).analyze(pixels), the largest face's descriptor;
  * variants built here from the engine's parts (engine.locate: BlazeFace box, dlib 5-point on the mapped box,
    FaceMesh 468 points; face_chips; the same ResNet on onnxruntime), all on the default's faces:
      - mirror: the chip and its horizontal flip embedded, the two descriptors averaged;
      - jitter N: dlib's jitter_image (random crop, scale, rotation, flip) N times, descriptors averaged, as
        face_recognition's num_jitters=N;
      - mesh 5 (nose i): dlib's five points taken straight from FaceMesh (eye corners 263/362/33/133, nose i);
      - mesh map: a least-squares linear map from a handful of FaceMesh points to where dlib's 5-point model
        puts its points on dlib's own (HOG) box, in a frame set by the eyes; cross-fitted: the map for the
        photos of folds 0, 2, 4, 6, 8 is fitted on the people of folds 1, 3, 5, 7, 9 and the other way round,
        so no photo is aligned by a map that saw its person. The map fitted on all is saved as the recipe;
      - FaceMesh's points are not rounded: their chips are cut by dlib's chip_details from float points (the
        same similarity fit to dlib's template as get_face_chips, which takes integer points); "mesh map
        (integer points)" is the rounded control;
      - combinations: the mesh map mirrored, jittered, and averaged with the mirrored default.

Scores: 10-fold accuracy (each fold's threshold maximises accuracy on the other 9 folds), mean and standard
deviation over folds; TAR at FAR 1e-3 over all pairs (threshold: at most 0.1% of non-mated pairs accepted);
photos with no face found. A pair with a photo without a face counts as a wrong answer in the accuracy, as a
rejection (no match) in TAR@FAR; the accuracy on the common pairs (every method found both faces) compares the
descriptors alone. ms/photo: median over photos; a faceindex variant's is the default analyze()
time with the default descriptor's cost swapped for the variant's (chips + embeddings), what the pipeline would
take with it; "descriptor ms" is that part alone.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib
import face_recognition
import numpy as np
import numpy.typing as npt
import onnxruntime

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faceindex.config import Settings  # noqa: E402
from faceindex.models.landmarks import CHIP_PADDING, CHIP_SIZE, face_chips, shape_points  # noqa: E402
from faceindex.pipeline import FaceEngine, LocatedFace  # noqa: E402

DEFAULT_DEVSET = Path.home() / ".cache" / "faceindex" / "devsets" / "celeba_people"
PEER = "face_recognition 1.3.0 (hog, upsample 1)"
DEFAULT = "faceindex default (analyze)"
FAR = 1e-3
FOLDS = 10

# dlib's 5-point order: 0/1 outer/inner corner of the image-right eye, 2/3 outer/inner of the image-left eye
# (its chip template: x 0.86, 0.65, 0.12, 0.33), 4 the base of the nose. FaceMesh: image-left eye outer 33 /
# inner 133, image-right eye inner 362 / outer 263.
MESH_EYES = (263, 362, 33, 133)
# dlib's 5-point chip template on the unit square (get_face_chip_details, dlib/image_transforms/interpolation.h)
TEMPLATE5 = (
    (0.8595674595992, 0.2134981538014),
    (0.6460604764104, 0.2289674387677),
    (0.1205750620789, 0.2137274526848),
    (0.3340850613712, 0.2290642403242),
    (0.4901123135679, 0.6277975316475),
)
MESH_NOSES = (2, 94)
# The handful of FaceMesh points the map reads: the eye corners and lids, the nose's bridge, tip, base and alae.
HANDFUL = (33, 133, 362, 263, 159, 145, 386, 374, 168, 6, 1, 2, 94, 98, 327)
RIDGE = 1e-3  # per sample; the frame makes the features ~unit scale, the anchors make some nearly collinear
OUTLIER_FACTOR = 3.0  # a second fit drops faces whose error is past 3x the median (HOG and mesh on other faces)

FloatArray = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float32]
Pixels = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Pair:
    fold: int
    mated: bool
    a: str
    b: str


@dataclass
class PhotoResult:
    descriptors: dict[str, Vector | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per method: whole method, or its descriptor part
    mesh: FloatArray | None = None  # the largest face's FaceMesh points (468 x 2)
    shape5: FloatArray | None = None  # dlib 5-point on faceindex's (mapped BlazeFace) box
    peer5: FloatArray | None = None  # dlib 5-point on face_recognition's HOG box, when it is the same face
    checks: dict[str, float] = field(default_factory=dict)


# --- descriptors ------------------------------------------------------------------------------------------


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


def largest_css(locations: list[tuple[int, int, int, int]]) -> int:
    return max(
        range(len(locations)), key=lambda i: (locations[i][2] - locations[i][0]) * (locations[i][1] - locations[i][3])
    )


def peer(pixels: Pixels, result: PhotoResult) -> tuple[int, int, int, int] | None:
    """face_recognition's defaults, every face encoded as its users would; the largest one is kept."""

    def run() -> tuple[list[tuple[int, int, int, int]], list[Vector]]:
        locations = face_recognition.face_locations(pixels)
        return locations, face_recognition.face_encodings(pixels, locations, num_jitters=1, model="small")

    (locations, encodings), seconds = timed(run)
    result.seconds[PEER] = seconds
    if not locations:
        result.descriptors[PEER] = None
        return None
    i = largest_css(locations)
    result.descriptors[PEER] = np.asarray(encodings[i], dtype=np.float32)
    return locations[i]  # type: ignore[no-any-return]


def shape_of(points: FloatArray) -> object:
    """A dlib full_object_detection from 5 points (dlib keeps integer points, as its own predictor returns)."""
    parts = [dlib.point(round(x), round(y)) for x, y in points]
    xs, ys = points[:, 0], points[:, 1]
    return dlib.full_object_detection(
        dlib.rectangle(*(round(v) for v in (xs.min(), ys.min(), xs.max(), ys.max()))), parts
    )


def subpixel_chip(pixels: Pixels, points: FloatArray) -> Pixels:
    """The chip get_face_chips cuts for 5 points, without first rounding them to integers as a dlib
    full_object_detection does: the same similarity fit to dlib's template, through chip_details."""
    scale = CHIP_SIZE / (2 * CHIP_PADDING + 1)
    template = dlib.dpoints([dlib.dpoint((CHIP_PADDING + x) * scale, (CHIP_PADDING + y) * scale) for x, y in TEMPLATE5])
    found = dlib.dpoints([dlib.dpoint(float(x), float(y)) for x, y in points])
    details = dlib.chip_details(template, found, dlib.chip_dims(CHIP_SIZE, CHIP_SIZE))
    return np.asarray(dlib.extract_image_chips(pixels, [details])[0], dtype=np.uint8)[None]


def mesh_five(mesh: FloatArray, nose: int) -> FloatArray:
    return np.asarray(mesh[[*MESH_EYES, nose]], dtype=np.float64)


class Descriptors:
    """The chip + embedding recipes, each timed: plain, mirrored, jittered."""

    def __init__(self, engine: FaceEngine) -> None:
        self.engine = engine

    def chip(self, pixels: Pixels, shape: object) -> Pixels:
        """A dlib shape (integer points) through face_chips; 5 x 2 float points through subpixel_chip."""
        if isinstance(shape, np.ndarray):
            return subpixel_chip(pixels, shape)
        return np.asarray(face_chips(pixels, [shape]), dtype=np.uint8)

    def embed(self, chips: Pixels) -> Vector:
        return np.asarray(self.engine.embedder.embed(chips).mean(axis=0), dtype=np.float32)

    def plain_and_mirror(self, pixels: Pixels, shape: object) -> tuple[Vector, float, Vector, float]:
        (chip, plain), seconds = timed(lambda: (c := self.chip(pixels, shape), self.embed(c)))
        mirrored, extra = timed(lambda: self.embed(chip[:, :, ::-1]))
        return plain, seconds, (plain + mirrored) / 2, seconds + extra

    def jittered(self, pixels: Pixels, shape: object, count: int) -> tuple[Vector, float]:
        def run() -> Vector:
            chip = np.ascontiguousarray(self.chip(pixels, shape)[0])
            return self.embed(np.stack([np.asarray(j, dtype=np.uint8) for j in dlib.jitter_image(chip, count)]))

        descriptor, seconds = timed(run)
        return descriptor, seconds


def record(result: PhotoResult, name: str, descriptor: Vector, seconds: float) -> None:
    result.descriptors[name] = descriptor
    result.seconds[name] = seconds


def faceindex_methods(
    engine: FaceEngine, recipes: Descriptors, pixels: Pixels, result: PhotoResult, jitters: Sequence[int]
) -> LocatedFace | None:
    faces, seconds = timed(lambda: engine.analyze(pixels))
    result.seconds[DEFAULT] = seconds
    result.descriptors[DEFAULT] = faces[0].descriptor if faces else None
    located, seconds = timed(lambda: engine.locate(pixels))
    result.seconds["locate"] = seconds
    if not located:
        return None
    face = located[0]
    plain, s_plain, mirrored, s_mirror = recipes.plain_and_mirror(pixels, face.shape5)
    result.seconds["default descriptor"] = s_plain
    record(result, "mirror", mirrored, s_mirror)
    if (default := result.descriptors[DEFAULT]) is not None:  # locate + chip + embed is what analyze does
        result.checks["default_vs_locate"] = float(np.abs(plain - default).max())
    for count in jitters:
        record(result, f"jitter {count}", *recipes.jittered(pixels, face.shape5, count))
    result.shape5 = shape_points(face.shape5)
    dlib_chip = recipes.chip(pixels, face.shape5).astype(np.int16)
    result.checks["subpixel_chip_vs_dlib"] = float(np.abs(subpixel_chip(pixels, result.shape5) - dlib_chip).max())
    if face.points.shape[0] == 468:
        result.mesh = np.asarray(face.points, dtype=np.float64)
        for nose in MESH_NOSES:
            p, s_p, m, s_m = recipes.plain_and_mirror(pixels, mesh_five(result.mesh, nose))
            record(result, f"mesh 5 (nose {nose})", p, s_p)
            record(result, f"mesh 5 (nose {nose}) + mirror", m, s_m)
    return face


def peer_shape(
    pixels: Pixels,
    location: tuple[int, int, int, int],
    face: LocatedFace | None,
    recipes: Descriptors,
    result: PhotoResult,
) -> None:
    """dlib's 5 points on the HOG box: the map's target, when that face is faceindex's largest face too; and the
    parity check: faceindex's embedder on the peer's landmarks gives the peer's descriptor."""
    shape = face_recognition.api._raw_face_landmarks(pixels, [location], model="small")[0]
    peer_descriptor = result.descriptors[PEER]
    if peer_descriptor is not None:
        ours = recipes.embed(recipes.chip(pixels, shape))
        result.checks["parity"] = float(np.abs(ours - peer_descriptor).max())
    if face is None or result.shape5 is None:
        return
    points = shape_points(shape)
    eyes = np.linalg.norm(result.shape5[:2].mean(axis=0) - result.shape5[2:4].mean(axis=0))
    if np.linalg.norm(points - result.shape5, axis=1).mean() < 0.25 * eyes:  # the same face
        result.peer5 = points


# --- the mesh -> dlib 5-point map --------------------------------------------------------------------------


def eye_frame(mesh: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """Origin (between the eyes' corner midpoints), rotation (x along the eye line) and unit (their distance)."""
    left = (mesh[33] + mesh[133]) / 2
    right = (mesh[362] + mesh[263]) / 2
    axis = right - left
    unit = float(np.linalg.norm(axis))
    c, s = axis / unit
    return (left + right) / 2, np.array([[c, -s], [s, c]]), unit


def to_frame(points: FloatArray, mesh: FloatArray) -> FloatArray:
    origin, rotation, unit = eye_frame(mesh)
    return np.asarray((points - origin) @ rotation / unit, dtype=np.float64)


def from_frame(points: FloatArray, mesh: FloatArray) -> FloatArray:
    origin, rotation, unit = eye_frame(mesh)
    return np.asarray(origin + unit * points @ rotation.T, dtype=np.float64)


def features(mesh: FloatArray) -> FloatArray:
    return np.concatenate([[1.0], to_frame(mesh[list(HANDFUL)], mesh).ravel()])


def apply_map(weights: FloatArray, mesh: FloatArray) -> FloatArray:
    return from_frame((features(mesh) @ weights).reshape(5, 2), mesh)


def fit_map(meshes: list[FloatArray], targets: list[FloatArray]) -> tuple[FloatArray, int]:
    """Ridge least squares, features -> the 10 target coordinates in the eye frame; fitted twice, the second
    time without the faces past OUTLIER_FACTOR x the median error. Returns the weights and the faces kept."""
    x = np.stack([features(m) for m in meshes])
    y = np.stack([to_frame(t, m).ravel() for m, t in zip(meshes, targets, strict=True)])
    keep = np.ones(len(x), dtype=bool)
    weights: FloatArray = np.zeros((x.shape[1], 10))
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        penalty = RIDGE * len(xs) * np.eye(x.shape[1])
        penalty[0, 0] = 0.0  # no shrinkage of the intercept
        weights = np.asarray(np.linalg.solve(xs.T @ xs + penalty, xs.T @ ys), dtype=np.float64)
        errors = np.linalg.norm((x @ weights - y).reshape(-1, 5, 2), axis=2).mean(axis=1)
        keep = errors <= OUTLIER_FACTOR * np.median(errors)
    return weights, int(keep.sum())


def landmark_error(points: FloatArray, target: FloatArray) -> float:
    """Mean point distance over the target's distance between eye centres (dlib's 0-1 and 2-3)."""
    eyes = np.linalg.norm(target[:2].mean(axis=0) - target[2:4].mean(axis=0))
    return float(np.linalg.norm(points - target, axis=1).mean() / eyes)


def error_summary(errors: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(errors), 4), "mean": round(statistics.fmean(errors), 4)}


# --- scoring -----------------------------------------------------------------------------------------------


def best_threshold(distances: FloatArray, mated: npt.NDArray[np.bool_]) -> float:
    """The threshold (accept d < t) with the most right answers; pairs without a distance (NaN) are wrong anyway."""
    known = ~np.isnan(distances)
    d, m = distances[known], mated[known]
    order = np.argsort(d)
    d, m = d[order], m[order]
    # accepting the first k (sorted): right = mated among them + non-mated after them
    right = np.concatenate([[0], np.cumsum(m)]) + np.concatenate([[(~m).sum()], (~m).sum() - np.cumsum(~m)])
    k = int(np.argmax(right))
    if k == 0:
        return float(d[0]) if len(d) else 0.0
    if k == len(d):
        return float(d[-1]) + 1e-6
    return float((d[k - 1] + d[k]) / 2)


def right_answers(distances: FloatArray, mated: npt.NDArray[np.bool_], threshold: float) -> int:
    with np.errstate(invalid="ignore"):
        accepted = distances < threshold  # NaN: False, and a missing mated pair is then wrong
    known = ~np.isnan(distances)
    return int((known & (accepted == mated)).sum())


def tar_at_far(distances: FloatArray, mated: npt.NDArray[np.bool_], far: float) -> tuple[float, float]:
    impostor = np.sort(distances[~mated & ~np.isnan(distances)])
    allowed = math.floor(far * int((~mated).sum()))
    threshold = float(impostor[allowed]) if allowed < len(impostor) else math.inf  # accept d < threshold
    genuine = distances[mated]
    return float((genuine[~np.isnan(genuine)] < threshold).sum() / mated.sum()), threshold


def score(pairs: list[Pair], descriptors: dict[str, Vector | None]) -> dict[str, Any]:
    distances = np.array(
        [
            np.nan
            if (a := descriptors.get(p.a)) is None or (b := descriptors.get(p.b)) is None
            else float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))
            for p in pairs
        ]
    )
    mated = np.array([p.mated for p in pairs])
    folds = np.array([p.fold for p in pairs])
    accuracies, thresholds = [], []
    for fold in sorted(set(folds.tolist())):
        train, test = folds != fold, folds == fold
        threshold = best_threshold(distances[train], mated[train])
        thresholds.append(threshold)
        accuracies.append(right_answers(distances[test], mated[test], threshold) / int(test.sum()))
    tar, far_threshold = tar_at_far(distances, mated, FAR)
    return {
        "accuracy_mean": round(statistics.fmean(accuracies), 4),
        "accuracy_std": round(statistics.pstdev(accuracies), 4),
        "accuracy_per_fold": [round(a, 4) for a in accuracies],
        "threshold_mean": round(statistics.fmean(thresholds), 4),
        "tar_at_far_1e-3": round(tar, 4),
        "far_1e-3_threshold": round(far_threshold, 4),
        "pairs_missing_a_face": int(np.isnan(distances).sum()),
    }


# --- running -----------------------------------------------------------------------------------------------


def read_pairs(devset: Path, limit: int) -> list[Pair]:
    with (devset / "pairs.csv").open(encoding="utf-8") as f:
        pairs = [Pair(int(r["fold"]), r["mated"] == "1", r["file_a"], r["file_b"]) for r in csv.DictReader(f)]
    if limit and len(pairs) > limit:
        pairs = pairs[:: math.ceil(len(pairs) / limit)]
    return pairs


def first_pass(engine: FaceEngine, devset: Path, files: list[str], jitters: Sequence[int]) -> dict[str, PhotoResult]:
    recipes = Descriptors(engine)
    results: dict[str, PhotoResult] = {}
    started = time.perf_counter()
    for index, file in enumerate(files, 1):
        pixels = engine.decode(devset / file).pixels
        result = PhotoResult()
        location = peer(pixels, result)
        face = faceindex_methods(engine, recipes, pixels, result, jitters)
        if location is not None:
            peer_shape(pixels, location, face, recipes, result)
        results[file] = result
        progress("photos", index, len(files), started)
    return results


def progress(what: str, index: int, total: int, started: float) -> None:
    if index % 100 == 0 or index == total:
        elapsed = time.perf_counter() - started
        eta = elapsed / index * (total - index)
        print(
            f"{what}: {index}/{total}, {elapsed / 60:.1f} min, about {eta / 60:.0f} min left",
            file=sys.stderr,
            flush=True,
        )


@dataclass(frozen=True)
class Annotated:
    """A face with FaceMesh points and dlib's 5 points on dlib's own (HOG) box: the map's data."""

    file: str
    mesh: FloatArray
    target: FloatArray
    shape5: FloatArray


def annotated(results: dict[str, PhotoResult]) -> list[Annotated]:
    return [
        Annotated(f, r.mesh, r.peer5, r.shape5)
        for f, r in results.items()
        if r.mesh is not None and r.peer5 is not None and r.shape5 is not None
    ]


def fit_halves(faces: list[Annotated], fold_of: dict[str, int]) -> tuple[dict[int, FloatArray], dict[str, Any]]:
    """One map per half of the people (fold parity), each fitted on the other half."""
    maps, report = {}, {}
    for half in (0, 1):
        train = [a for a in faces if fold_of[a.file] % 2 != half]
        maps[half], kept = fit_map([a.mesh for a in train], [a.target for a in train])
        report[f"map_for_half_{half}"] = {"faces": len(train), "kept": kept}
    return maps, report


def held_out_errors(faces: list[Annotated], maps: dict[int, FloatArray], fold_of: dict[str, int]) -> dict[str, Any]:
    errors: dict[str, list[float]] = {"mesh map": [], "dlib 5-point on the mapped box (default)": []}
    errors |= {f"mesh 5 (nose {n})": [] for n in MESH_NOSES}
    for a in faces:
        errors["mesh map"].append(landmark_error(apply_map(maps[fold_of[a.file] % 2], a.mesh), a.target))
        errors["dlib 5-point on the mapped box (default)"].append(landmark_error(a.shape5, a.target))
        for n in MESH_NOSES:
            errors[f"mesh 5 (nose {n})"].append(landmark_error(mesh_five(a.mesh, n), a.target))
    return {name: error_summary(e) for name, e in errors.items()}


def mesh_map_pass(
    engine: FaceEngine, devset: Path, results: dict[str, PhotoResult], fold_of: dict[str, int], jitter: int | None
) -> dict[str, Any]:
    """Fit the map on each half of the people and align the other half with it; then fit the recipe on all."""
    faces = annotated(results)
    maps, report = fit_halves(faces, fold_of)
    report["held_out_error_vs_dlib5_on_hog_box"] = held_out_errors(faces, maps, fold_of)
    recipes = Descriptors(engine)
    with_mesh = [(f, r, r.mesh) for f, r in results.items() if r.mesh is not None]
    started = time.perf_counter()
    for index, (file, r, mesh) in enumerate(with_mesh, 1):
        pixels = engine.decode(devset / file).pixels
        weights = maps[fold_of[file] % 2]
        points, s_map = timed(lambda: apply_map(weights, mesh))  # noqa: B023
        p, s_p, m, s_m = recipes.plain_and_mirror(pixels, points)
        record(r, "mesh map", p, s_map + s_p)
        record(r, "mesh map + mirror", m, s_map + s_m)
        rounded, s_r = timed(lambda: recipes.embed(recipes.chip(pixels, shape_of(points))))  # noqa: B023
        record(r, "mesh map (integer points)", rounded, s_map + s_r)
        if (default := r.descriptors.get("mirror")) is not None:  # two alignments, each mirrored: 4 chips
            record(
                r,
                "default + mesh map, both mirrored",
                np.asarray((default + m) / 2, dtype=np.float32),
                r.seconds["mirror"] + s_map + s_m,
            )
        if jitter:
            j, s_j = recipes.jittered(pixels, points, jitter)
            record(r, f"mesh map + jitter {jitter}", j, s_map + s_j)
        progress("mesh map", index, len(with_mesh), started)
    weights, kept = fit_map([a.mesh for a in faces], [a.target for a in faces])
    report["recipe"] = recipe(weights, kept)
    report["halves_max_weight_difference"] = round(float(np.abs(maps[0] - maps[1]).max()), 4)
    return report


def recipe(weights: FloatArray, kept: int) -> dict[str, Any]:
    names = ["1"] + [f"{axis}{i}" for i in HANDFUL for axis in "xy"]
    outputs = [f"{axis}{k}" for k in range(5) for axis in "xy"]
    return {
        "how": (
            "frame: L = (mesh[33] + mesh[133]) / 2, R = (mesh[362] + mesh[263]) / 2, origin = (L + R) / 2, "
            "unit = |R - L|, (c, s) = (R - L) / unit; a point p in the frame: q = ((p - origin) @ [[c, -s], [s, c]]) "
            "/ unit. features = [1, qx, qy of each mesh point in `points`]; dlib point k in the frame = "
            "features @ weights[:, 2k:2k+2]; back: origin + unit * q @ [[c, s], [-s, c]]; round to integers and "
            "build dlib.full_object_detection in dlib's 5-point order for get_face_chips"
        ),
        "points": list(HANDFUL),
        "features": names,
        "outputs": outputs,
        "weights": [[round(float(v), 6) for v in row] for row in weights],
        "fitted_on_faces": kept,
        "ridge_per_sample": RIDGE,
    }


def method_rows(pairs: list[Pair], results: dict[str, PhotoResult], files: list[str]) -> dict[str, Any]:
    names = list(dict.fromkeys(n for r in results.values() for n in r.descriptors))
    everyone = {f for f in files if all(results[f].descriptors.get(n) is not None for n in names)}
    common = [p for p in pairs if p.a in everyone and p.b in everyone]
    rows: dict[str, Any] = {}
    for name in names:
        descriptors = {f: results[f].descriptors.get(name) for f in files}
        row = score(pairs, descriptors)
        on_common = score(common, descriptors)
        row["common_pairs"] = len(common)
        row["common_accuracy_mean"], row["common_accuracy_std"] = on_common["accuracy_mean"], on_common["accuracy_std"]
        row["photos_without_face"] = sum(d is None for d in descriptors.values())
        row["ms_per_photo"], row["descriptor_ms"] = costs(name, [results[f] for f in files])
        rows[name if name in (PEER, DEFAULT) else f"faceindex {name}"] = row
    return rows


def costs(name: str, results: list[PhotoResult]) -> tuple[float, float | None]:
    """Median ms per photo: the whole method, and for faceindex its chips + embeddings part. A variant's whole
    is analyze()'s time with the default descriptor's part swapped for the variant's."""
    timed_here = [r for r in results if name in r.seconds]
    if name == PEER:
        return median_ms([r.seconds[PEER] for r in timed_here]), None
    located = [r for r in timed_here if "default descriptor" in r.seconds]
    if name == DEFAULT:
        return median_ms([r.seconds[DEFAULT] for r in timed_here]), median_ms(
            [r.seconds["default descriptor"] for r in located]
        )
    swapped = [r.seconds[DEFAULT] - r.seconds["default descriptor"] + r.seconds[name] for r in located]
    return median_ms(swapped), median_ms([r.seconds[name] for r in located])


def median_ms(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 1) if seconds else math.nan


def checks(results: dict[str, PhotoResult]) -> dict[str, Any]:
    """parity: faceindex's embedder on the peer's landmarks against the peer's descriptor; default_vs_locate:
    locate + chip + embed here against analyze()'s descriptor; subpixel_chip_vs_dlib: subpixel_chip of the
    default's integer points against face_chips (grey levels)."""
    out: dict[str, Any] = {}
    for key in ("parity", "default_vs_locate", "subpixel_chip_vs_dlib"):
        values = [r.checks[key] for r in results.values() if key in r.checks]
        out[key] = {"photos": len(values), "max_abs_difference": max(values) if values else None}
    out["faces_with_mesh_and_the_same_hog_face"] = len(annotated(results))
    return out


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "dlib": dlib.__version__,
        "face_recognition": face_recognition.__version__,
        "faceindex_commit": git("rev-parse", "--short=12", "HEAD"),
        "engine_files_changed": bool(git("status", "--porcelain", "--", "src/faceindex")),
        "threads": os.environ.get("FACEINDEX_THREADS"),
    }


def table(results: dict[str, Any]) -> None:
    methods = results["methods"]
    peer_all, peer_common = methods[PEER]["accuracy_mean"], methods[PEER]["common_accuracy_mean"]
    print(
        "| method | accuracy (10-fold) | vs peer | TAR @ FAR 1e-3 | photos without a face "
        f"| accuracy on the {methods[PEER]['common_pairs']} common pairs | vs peer | ms/photo | descriptor ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, m in methods.items():
        row = [
            name,
            f"{m['accuracy_mean']:.4f} ± {m['accuracy_std']:.4f}",
            f"{m['accuracy_mean'] - peer_all:+.4f}",
            f"{m['tar_at_far_1e-3']:.4f}",
            m["photos_without_face"],
            f"{m['common_accuracy_mean']:.4f} ± {m['common_accuracy_std']:.4f}",
            f"{m['common_accuracy_mean'] - peer_common:+.4f}",
            m["ms_per_photo"],
            "-" if m["descriptor_ms"] is None else m["descriptor_ms"],
        ]
        print("| " + " | ".join(str(v) for v in row) + " |")
    errors = results["mesh_map"]["held_out_error_vs_dlib5_on_hog_box"]
    print("\n| 5 points | distance to dlib's 5 points on the HOG box (median, mean; eye distances) |")
    print("|---|---|")
    for name, e in errors.items():
        print(f"| {name} | {e['median']}, {e['mean']} |")
    m, s = results["machine"], results["set"]
    print(
        f"\n{s['pairs']} pairs ({s['mated']} mated) of {s['photos']} photos, {s['folds']} folds; the largest face of "
        "each photo; a pair missing a face is wrong in accuracy, a rejection in TAR; common pairs: those where every "
        f"method found both faces (the descriptors alone). Machine: {m['cpus']} CPUs, faceindex "
        f"{m['faceindex_commit']}{' (engine files changed)' if m['engine_files_changed'] else ''}, {results['date']}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    parser.add_argument("--limit", type=int, default=0, help="every k-th pair so that about N are run (0: all)")
    parser.add_argument("--jitters", type=int, nargs="*", default=[5, 10], help="jitter counts to try (dlib's)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/verification.json")
    parser.add_argument("--table", action="store_true", help="only print the table of an existing --out")
    args = parser.parse_args()
    if args.table:
        table(json.loads(args.out.read_text()))
        return

    devset = args.devset.expanduser()
    pairs = read_pairs(devset, args.limit)
    files = list(dict.fromkeys(f for p in pairs for f in (p.a, p.b)))
    fold_of = {f: p.fold for p in pairs for f in (p.a, p.b)}
    engine = FaceEngine(Settings())
    engine.warm_up()
    started = time.perf_counter()
    results = first_pass(engine, devset, files, args.jitters)
    mesh_map = mesh_map_pass(engine, devset, results, fold_of, args.jitters[0] if args.jitters else None)
    out = {
        "machine": machine(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "set": {
            "devset": str(args.devset),
            "pairs": len(pairs),
            "mated": sum(p.mated for p in pairs),
            "photos": len(files),
            "folds": len({p.fold for p in pairs}),
            "face": "the largest found (box area), for every method",
            "missing": "a pair with a photo without a face: wrong in accuracy, a rejection in TAR@FAR",
        },
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "methods": method_rows(pairs, results, files),
        "mesh_map": mesh_map,
        "mesh_5": {"eyes": list(MESH_EYES), "noses": list(MESH_NOSES)},
        "checks": checks(results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    table(out)


if __name__ == "__main__":
    main()
