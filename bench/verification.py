"""Descriptor quality (issue 12.1): 1:1 verification on the celeba_people pairs, faceindex against face_recognition.

    .venv/bin/python bench/verification.py [--devset ~/.cache/faceindex/devsets/celeba_people] [--limit N]
        [--jitters 5 10] [--out bench/results/verification.json]
    .venv/bin/python bench/verification.py --table        # print the table of an existing --out

The pairs are the dev set's pairs.csv (scripts/devsets/celeba_people.py): 3,000 mated and 3,000 non-mated pairs
in 10 folds whose people do not overlap. Each photo is decoded by faceindex's decoder (EXIF-rotated) and every
method gets the same pixels; each photo's descriptor is computed once per method. Of the faces a method finds in
a photo the largest (box area) is the photo's face, for every method: CelebA's photos "in the wild" may hold
several faces, and the labelled person is nearly always the largest.

Pass 1, per photo (distance: Euclidean between 128-D descriptors, as face_recognition and dlib compare them):
  * peer: face_recognition 1.3.0 with its defaults: face_locations (HOG, upsample 1), face_encodings
    (num_jitters=1, model="small": dlib's 5-point shape on the HOG box, dlib's ResNet), every face encoded;
  * faceindex default: FaceEngine(Settings()).analyze(pixels), the largest face's descriptor (alignment
    "facemesh" since issue 12.1: FaceMesh's eye corners and nose, the chip and its mirror averaged);
  * engine.locate(pixels) for that face's landmarks: dlib's 5 points on the (mapped BlazeFace) box, which the
    default aligns on, and FaceMesh's 468 points; dlib's 5 points on the peer's HOG box for the same face.
The mesh map: a least-squares linear map from a handful of FaceMesh points to where dlib's 5-point model puts its
points on dlib's own (HOG) box, in a frame set by the eyes; cross-fitted: the photos of folds 0, 2, 4, 6, 8 are
mapped by the map fitted on the people of folds 1, 3, 5, 7, 9 and the other way round, so no photo is aligned by
a map that saw its person. The map fitted on every face is saved as the recipe.
Pass 2, per photo with a face: every variant, one after the other on the same pixels (the same ResNet on
onnxruntime as the default, face_chips' 150 px chips, padding 0.25):
  * dlib 5: dlib's 5 points on the detector's box, one chip (alignment "dlib5": the default until issue 12.1,
    face_recognition's descriptor on faceindex's boxes);
  * mirror: the chip and its horizontal flip embedded, the two descriptors averaged (dlib 5 + mirror);
  * jitter N: dlib's jitter_image (random crop, scale, rotation, flip) N times, the descriptors averaged, as
    face_recognition's num_jitters=N;
  * mesh 5 (nose i): dlib's five points taken straight from FaceMesh (eye corners 263/362/33/133, nose i);
  * mesh map: the map's five points; "(integer points)" rounds them as dlib's full_object_detection does, the
    others cut the chip from the float points (dlib.chip_details: the same similarity fit to dlib's template
    as get_face_chips, checked equal on integer points);
  * combinations: the map mirrored or jittered, and averaged with the mirrored default.

Scores: 10-fold accuracy (each fold's threshold maximises accuracy on the other 9 folds), mean and standard
deviation over folds, and fold by fold against the default; TAR at FAR 1e-3 over all pairs (threshold: at most
0.1% of the non-mated pairs accepted); photos with no face found. A pair with a photo without a face counts as a
wrong answer in the accuracy, as a rejection (no match) in TAR@FAR; the accuracy on the common pairs (every
method found both faces) compares the descriptors alone. ms/photo: median over photos; a variant's is analyze()'s
time with the default descriptor's cost (its chip + embedding, timed in pass 2 beside the variants) swapped for
the variant's, what the pipeline would take with it; "descriptor ms" is that part alone.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import json
import math
import os
import statistics
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))  # machine_info, also when a test loads this file

from faceindex.config import Settings  # noqa: E402
from faceindex.models.landmarks import CHIP_PADDING, CHIP_SIZE, face_chips, shape_points  # noqa: E402
from faceindex.pipeline import FaceEngine, LocatedFace  # noqa: E402
from machine_info import machine as machine_of  # noqa: E402

DEFAULT_DEVSET = Path.home() / ".cache" / "faceindex" / "devsets" / "celeba_people"
PEER = "face_recognition 1.3.0 (hog, upsample 1)"
DEFAULT = "faceindex default (analyze)"
BASE = "default alignment"  # analyze()'s chip + embedding redone in pass 2: the cost baseline of the variants
OLD_DEFAULT = "dlib 5"  # alignment "dlib5", the default before issue 12.1
MIXED = "stored dlib 5 (before 12.1) against the default"
FAR = 1e-3
ENGINE_PATHS = tuple(f"src/faceindex/{p}" for p in ("pipeline.py", "config.py", "models", "imaging", "analysis"))

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
DEFAULT_NOSE = 94  # imaging.align.MESH_FIVE
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
    shape5: FloatArray | None = None  # dlib 5-point on faceindex's (mapped BlazeFace) box, the largest face
    mesh: FloatArray | None = None  # that face's FaceMesh points (468 x 2)
    peer5: FloatArray | None = None  # dlib 5-point on face_recognition's HOG box, when it is the same face
    mapped: FloatArray | None = None  # the mesh map's 5 points (the map of the other half of the people)
    located: LocatedFace | None = None  # the largest face as locate() gives it: what the default descriptor reads
    checks: dict[str, float] = field(default_factory=dict)


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


# --- pass 1: the peer, faceindex's default, the landmarks ----------------------------------------------------


def largest_css(locations: list[tuple[int, int, int, int]]) -> int:
    def area(i: int) -> int:
        top, right, bottom, left = locations[i]
        return (bottom - top) * (right - left)

    return max(range(len(locations)), key=area)


def peer(pixels: Pixels, result: PhotoResult) -> tuple[int, int, int, int] | None:
    """face_recognition's defaults, every face encoded as its users would; the largest one is kept."""

    def run() -> tuple[list[tuple[int, int, int, int]], list[Vector]]:
        locations = face_recognition.face_locations(pixels)
        return locations, face_recognition.face_encodings(pixels, locations, num_jitters=1, model="small")

    (locations, encodings), result.seconds[PEER] = timed(run)
    if not locations:
        result.descriptors[PEER] = None
        return None
    i = largest_css(locations)
    result.descriptors[PEER] = np.asarray(encodings[i], dtype=np.float32)
    return locations[i]  # type: ignore[no-any-return]


def faceindex_default(engine: FaceEngine, pixels: Pixels, result: PhotoResult) -> None:
    """analyze() as a user calls it (timed); then locate() for the largest face's landmarks (what analyze aligns
    on: locate is its first step, and deterministic)."""
    faces, result.seconds[DEFAULT] = timed(lambda: engine.analyze(pixels))
    result.descriptors[DEFAULT] = faces[0].descriptor if faces else None
    located: list[LocatedFace] = engine.locate(pixels)
    if not located:
        return
    face = located[0]
    result.located = face
    result.shape5 = shape_points(face.shape5)
    if face.points.shape[0] == 468:
        result.mesh = np.asarray(face.points, dtype=np.float64)


def peer_landmarks(
    engine: FaceEngine, pixels: Pixels, location: tuple[int, int, int, int], result: PhotoResult
) -> None:
    """dlib's 5 points on the HOG box: the map's target when it is faceindex's largest face too. And the parity
    check: faceindex's embedder on the peer's landmarks gives the peer's descriptor."""
    shape = face_recognition.api._raw_face_landmarks(pixels, [location], model="small")[0]
    peer_descriptor = result.descriptors[PEER]
    if peer_descriptor is not None:
        ours = engine.embedder.embed(face_chips(pixels, [shape]))[0]
        result.checks["parity"] = float(np.abs(ours - peer_descriptor).max())
    if result.shape5 is None:
        return
    points = shape_points(shape)
    eyes = np.linalg.norm(result.shape5[:2].mean(axis=0) - result.shape5[2:4].mean(axis=0))
    if np.linalg.norm(points - result.shape5, axis=1).mean() < 0.25 * eyes:  # the same face
        result.peer5 = points


def read_pairs(devset: Path, limit: int) -> list[Pair]:
    with (devset / "pairs.csv").open(encoding="utf-8") as f:
        pairs = [Pair(int(r["fold"]), r["mated"] == "1", r["file_a"], r["file_b"]) for r in csv.DictReader(f)]
    if limit and len(pairs) > limit:
        pairs = pairs[:: math.ceil(len(pairs) / limit)]
    return pairs


def first_pass(engine: FaceEngine, devset: Path, files: list[str]) -> dict[str, PhotoResult]:
    results: dict[str, PhotoResult] = {}
    started = time.perf_counter()
    for index, file in enumerate(files, 1):
        pixels = engine.decode(devset / file).pixels
        result = PhotoResult()
        location = peer(pixels, result)
        faceindex_default(engine, pixels, result)
        if location is not None:
            peer_landmarks(engine, pixels, location, result)
        results[file] = result
        progress("pass 1 (peer, analyze, landmarks)", index, len(files), started)
    return results


def progress(what: str, index: int, total: int, started: float) -> None:
    if index % 100 == 0 or index == total:
        elapsed = time.perf_counter() - started
        eta = elapsed / index * (total - index)
        print(f"{what}: {index}/{total}, {elapsed / 60:.1f} min, about {eta / 60:.0f} min left", file=sys.stderr)
        sys.stderr.flush()


# --- pass 2: the descriptor variants -----------------------------------------------------------------------


def shape_of(points: FloatArray) -> object:
    """A dlib full_object_detection from 5 points (dlib keeps integer points, as its own predictor returns)."""
    xs, ys = points[:, 0], points[:, 1]
    box = dlib.rectangle(*(round(v) for v in (xs.min(), ys.min(), xs.max(), ys.max())))
    return dlib.full_object_detection(box, [dlib.point(round(x), round(y)) for x, y in points])


def dlib_chip(pixels: Pixels, points: FloatArray) -> Pixels:
    """face_chips (dlib.get_face_chips) of the 5 points rounded to integers, as the pipeline cuts its chips."""
    return np.asarray(face_chips(pixels, [shape_of(points)]), dtype=np.uint8)


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


Cut = Callable[[Pixels, FloatArray], Pixels]  # 5 points -> a 1 x 150 x 150 x 3 chip
Where = Callable[[PhotoResult], FloatArray | None]  # the 5 points a variant aligns on
Recipe = Callable[[Pixels, PhotoResult], Vector | None]


def default_points(r: PhotoResult) -> FloatArray | None:
    return r.shape5


def mesh_points(nose: int) -> Where:
    return lambda r: None if r.mesh is None else mesh_five(r.mesh, nose)


def mapped_points(r: PhotoResult) -> FloatArray | None:
    return r.mapped


class Recipes:
    """Chip + embedding recipes; each returns the mean descriptor of the chips it embeds in one batch."""

    def __init__(self, engine: FaceEngine) -> None:
        self.engine = engine

    def embed(self, chips: Pixels) -> Vector:
        return np.asarray(self.engine.embedder.embed(chips).mean(axis=0), dtype=np.float32)

    def plain(self, cut: Cut, where: Where) -> Recipe:
        return lambda pixels, r: None if (p := where(r)) is None else self.embed(cut(pixels, p))

    def mirrored(self, cut: Cut, where: Where) -> Recipe:
        def run(pixels: Pixels, r: PhotoResult) -> Vector | None:
            if (points := where(r)) is None:
                return None
            chip = cut(pixels, points)
            return self.embed(np.concatenate([chip, chip[:, :, ::-1]]))

        return run

    def jittered(self, cut: Cut, where: Where, count: int) -> Recipe:
        """dlib's jitter_image, as face_recognition's num_jitters (dlib's compute_face_descriptor) does."""

        def run(pixels: Pixels, r: PhotoResult) -> Vector | None:
            if (points := where(r)) is None:
                return None
            chip = np.ascontiguousarray(cut(pixels, points)[0])
            return self.embed(np.stack([np.asarray(j, dtype=np.uint8) for j in dlib.jitter_image(chip, count)]))

        return run

    def averaged(self, *recipes: Recipe) -> Recipe:
        def run(pixels: Pixels, r: PhotoResult) -> Vector | None:
            found = [recipe(pixels, r) for recipe in recipes]
            if any(d is None for d in found):
                return None
            return np.asarray(np.mean([d for d in found if d is not None], axis=0), dtype=np.float32)

        return run

    def default(self, pixels: Pixels, r: PhotoResult) -> Vector | None:
        """The engine's own descriptor of the located face (analyze's chip + embedding, its alignment setting)."""
        return None if r.located is None else self.engine.descriptors(pixels, [r.located])[0]

    def all(self, jitters: Sequence[int]) -> dict[str, Recipe]:
        recipes: dict[str, Recipe] = {BASE: self.default, OLD_DEFAULT: self.plain(dlib_chip, default_points)}
        recipes["mirror"] = self.mirrored(dlib_chip, default_points)
        recipes |= {f"jitter {n}": self.jittered(dlib_chip, default_points, n) for n in jitters}
        for nose in MESH_NOSES:
            recipes[f"mesh 5 (nose {nose})"] = self.plain(subpixel_chip, mesh_points(nose))
            if nose != DEFAULT_NOSE:  # with the mirror: the default (checked equal to analyze's, default_vs_base)
                recipes[f"mesh 5 (nose {nose}) + mirror"] = self.mirrored(subpixel_chip, mesh_points(nose))
        recipes["mesh map"] = self.plain(subpixel_chip, mapped_points)
        recipes["mesh map + mirror"] = self.mirrored(subpixel_chip, mapped_points)
        recipes["mesh map (integer points)"] = self.plain(dlib_chip, mapped_points)
        recipes["default + mesh map, both mirrored"] = self.averaged(recipes["mirror"], recipes["mesh map + mirror"])
        if jitters:
            recipes[f"mesh map + jitter {jitters[0]}"] = self.jittered(subpixel_chip, mapped_points, jitters[0])
        return recipes


def second_pass(engine: FaceEngine, devset: Path, results: dict[str, PhotoResult], jitters: Sequence[int]) -> None:
    """Every variant on every photo where faceindex found a face, one after the other on the same pixels."""
    recipes = Recipes(engine).all(jitters)
    found = [(f, r) for f, r in results.items() if r.shape5 is not None]
    started = time.perf_counter()
    for index, (file, r) in enumerate(found, 1):
        pixels = engine.decode(devset / file).pixels
        for name, recipe in recipes.items():
            r.descriptors[name], r.seconds[name] = timed(lambda: recipe(pixels, r))  # noqa: B023
        base, default = r.descriptors.pop(BASE), r.descriptors[DEFAULT]
        if base is not None and default is not None:  # the same chip and weights as analyze
            r.checks["default_vs_base"] = float(np.abs(base - default).max())
        if r.shape5 is not None:
            cut = dlib_chip(pixels, r.shape5).astype(np.int16)
            r.checks["subpixel_chip_vs_dlib"] = float(np.abs(subpixel_chip(pixels, r.shape5) - cut).max())
        progress("pass 2 (descriptor variants)", index, len(found), started)
    for r in results.values():  # no face: no descriptor for any variant
        for name in recipes:
            if name != BASE:
                r.descriptors.setdefault(name, None)


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
    errors: dict[str, list[float]] = {"mesh map": [], "dlib 5-point on the mapped box (dlib5)": []}
    errors |= {f"mesh 5 (nose {n})": [] for n in MESH_NOSES}
    for a in faces:
        errors["mesh map"].append(landmark_error(apply_map(maps[fold_of[a.file] % 2], a.mesh), a.target))
        errors["dlib 5-point on the mapped box (dlib5)"].append(landmark_error(a.shape5, a.target))
        for n in MESH_NOSES:
            errors[f"mesh 5 (nose {n})"].append(landmark_error(mesh_five(a.mesh, n), a.target))
    return {name: error_summary(e) for name, e in errors.items()}


def fit_mesh_map(results: dict[str, PhotoResult], fold_of: dict[str, int]) -> dict[str, Any]:
    """Fit the map on each half of the people and give the other half's photos their mapped points; report the
    held-out landmark distances, and the recipe: the map fitted on every face."""
    faces = annotated(results)
    maps, report = fit_halves(faces, fold_of)
    report["held_out_error_vs_dlib5_on_hog_box"] = held_out_errors(faces, maps, fold_of)
    for file, r in results.items():
        if r.mesh is not None:
            r.mapped = apply_map(maps[fold_of[file] % 2], r.mesh)
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
            "features @ weights[:, 2k:2k+2]; back: origin + unit * q @ [[c, s], [-s, c]]; in dlib's 5-point order; "
            "cut the chip from these float points as subpixel_chip does (dlib.chip_details(template, points, "
            "150 x 150), dlib's 5-point template with padding 0.25), or rounded through get_face_chips"
        ),
        "points": list(HANDFUL),
        "features": names,
        "outputs": outputs,
        "weights": [[round(float(v), 6) for v in row] for row in weights],
        "fitted_on_faces": kept,
        "ridge_per_sample": RIDGE,
    }


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


# --- the report --------------------------------------------------------------------------------------------


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
    if OLD_DEFAULT in names:  # a collection indexed before 12.1 searched with the new default
        rows[MIXED] = mixed_row(pairs, common, results, files)
    for row in rows.values():
        row["vs_default"] = paired(row["accuracy_per_fold"], rows[DEFAULT]["accuracy_per_fold"])
        row["vs_peer"] = paired(row["accuracy_per_fold"], rows[PEER]["accuracy_per_fold"])
    return rows


def mixed_row(
    pairs: list[Pair], common: list[Pair], results: dict[str, PhotoResult], files: list[str]
) -> dict[str, Any]:
    """Each pair's first photo with the old descriptor (dlib 5, as stored before 12.1), the second with the default."""
    descriptors = {f: results[f].descriptors.get(DEFAULT) for f in files}
    descriptors |= {f"old:{f}": results[f].descriptors.get(OLD_DEFAULT) for f in files}
    row = score([Pair(p.fold, p.mated, f"old:{p.a}", p.b) for p in pairs], descriptors)
    on_common = score([Pair(p.fold, p.mated, f"old:{p.a}", p.b) for p in common], descriptors)
    row["common_pairs"] = len(common)
    row["common_accuracy_mean"], row["common_accuracy_std"] = on_common["accuracy_mean"], on_common["accuracy_std"]
    row["photos_without_face"] = sum(results[f].descriptors.get(DEFAULT) is None for f in files)
    row["ms_per_photo"] = row["descriptor_ms"] = None
    return row


def paired(ours: list[float], theirs: list[float]) -> dict[str, Any]:
    """Fold by fold (the same pairs): the mean difference, its t statistic over the folds, folds better/worse."""
    diff = [a - b for a, b in zip(ours, theirs, strict=True)]
    spread = statistics.stdev(diff) if len(diff) > 1 else 0.0
    t = statistics.fmean(diff) / (spread / math.sqrt(len(diff))) if spread else 0.0
    return {
        "mean": round(statistics.fmean(diff), 4),
        "t": round(t, 2),
        "folds_better": sum(d > 0 for d in diff),
        "folds_worse": sum(d < 0 for d in diff),
    }


def costs(name: str, results: list[PhotoResult]) -> tuple[float, float | None]:
    """Median ms per photo: the whole method, and for faceindex its chips + embeddings part. A variant's whole is
    analyze()'s time with the default descriptor's part (BASE, timed in the same pass) swapped for the variant's."""
    if name == PEER:
        return median_ms([r.seconds[PEER] for r in results]), None
    found = [r for r in results if BASE in r.seconds]
    if name == DEFAULT:
        return median_ms([r.seconds[DEFAULT] for r in results]), median_ms([r.seconds[BASE] for r in found])
    swapped = [r.seconds[DEFAULT] - r.seconds[BASE] + r.seconds[name] for r in found]
    return median_ms(swapped), median_ms([r.seconds[name] for r in found])


def median_ms(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 1) if seconds else math.nan


def checks(results: dict[str, PhotoResult]) -> dict[str, Any]:
    """parity: faceindex's embedder on the peer's landmarks against the peer's descriptor; default_vs_base: the
    chip + embedding of locate()'s 5 points here against analyze()'s descriptor; subpixel_chip_vs_dlib:
    subpixel_chip of those integer points against face_chips (grey levels)."""
    out: dict[str, Any] = {}
    for key in ("parity", "default_vs_base", "subpixel_chip_vs_dlib"):
        values = {f: r.checks[key] for f, r in results.items() if key in r.checks}
        worst = max(values, key=lambda f: values[f]) if values else None
        out[key] = {
            "photos": len(values),
            "max_abs_difference": None if worst is None else values[worst],
            "photos_over_1e-4": sum(v > 1e-4 for v in values.values()),
            "worst": worst,
        }
    out["faces_with_mesh_and_the_same_hog_face"] = len(annotated(results))
    return out


def machine() -> dict[str, Any]:
    return machine_of(
        ENGINE_PATHS,  # the engine's modules only: others' work in progress (service, store, api) does not count
        dlib=dlib.__version__,
        face_recognition=importlib.metadata.version("face_recognition"),  # its __version__ says 1.2.3
        threads=os.environ.get("FACEINDEX_THREADS"),
        alignment=Settings().alignment,
    )


def table(results: dict[str, Any]) -> None:
    methods = results["methods"]
    peer_common = methods[PEER]["common_accuracy_mean"]
    print(
        "| method | accuracy (10-fold) | vs peer | vs default: mean, t, folds +/- | TAR @ FAR 1e-3 | photos without "
        f"a face | accuracy on the {methods[PEER]['common_pairs']} common pairs | vs peer | ms/photo | descriptor ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m in methods.items():
        d = m["vs_default"]
        row = [
            name,
            f"{m['accuracy_mean']:.4f} ± {m['accuracy_std']:.4f}",
            f"{m['vs_peer']['mean']:+.4f}",
            f"{d['mean']:+.4f}, {d['t']:+.1f}, {d['folds_better']}/{d['folds_worse']}",
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
        "method found both faces (the descriptors alone); t: the mean fold-by-fold difference over its standard "
        f"error (10 folds). Machine: {m['cpus']} CPUs, faceindex "
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
    measured_on = machine()  # the commit and engine state the run starts from (modules are loaded now)
    started = time.perf_counter()
    results = first_pass(engine, devset, files)
    mesh_map = fit_mesh_map(results, fold_of)
    second_pass(engine, devset, results, args.jitters)
    out = {
        "machine": measured_on,
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
