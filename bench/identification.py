"""1:N identification on the celeba_people dev set (issue 12.2, 12.5): how often a stranger matches
someone (FPIR) and a person in the gallery is missed (FNIR), by gallery size, for the old similarity (a
fixed distance per threshold: the peer, "raw distance") and the calibrated search similarity.

    .venv/bin/python bench/identification.py [--set ~/.cache/faceindex/devsets/celeba_people]
        [--sizes 30 60 116 232] [--repeats 20] [--out bench/results/identification.json]

Galleries hold one photo of each of N enrolled people (drawn at random, `--repeats` draws per size);
mated searches are the other photos of those people, non-mated searches every photo of the held-out
strangers (identification.csv's split; they are not in the calibration table, which scripts/
calibrate_search.py makes from the enrolled people only). A search "matches" when its nearest gallery face
has similarity >= the threshold; a mated search is a hit when that nearest face is the right person.
For each size it reports, at FaceMatchThreshold 80 and 99, FPIR and FNIR for both scores, and FNIR at
FPIR 0.01 and 0.003 with the threshold chosen on the strangers themselves (the best any monotone score
of the nearest distance can do: raw distance and the calibrated similarity are the same there, so it is
one row per descriptor variant). The descriptors are those of scripts/calibrate_search.py's cache.

The JSON keeps two runs: `before` (the descriptors before issue 12.1's FaceMesh alignment + mirror, and the
calibration table made from them) and `after` (this run, with the engine's current default); a JSON written
before the two were kept apart is taken as `before`. `--as before` writes the run there instead.

Scores of the nearest face against the probe's other neighbours (issue 12.5's ideas), measured with the
threshold chosen on the strangers at each size as above ("oracle": the best each can do): `ratio` d1 / d2
(nearest over second nearest), `znorm` (d1 - mean) / std of the probe's next 50 nearest gallery faces (fewer
in a small gallery), `fmr_ratio` FMR(d1) / FMR(d2) by the calibration table. The last is a calibrated
candidate: if a stranger's distances to the gallery were independent draws, FMR(d1) / FMR(d2) would be uniform
on (0, 1) at every gallery size (the smallest of N uniforms over the second smallest), so `fmr_ratio@0.01` (a
match when it is <= 0.01) would be FPIR 1% at any size without a table per size. `threshold_at_fpir_*` shows
whether one threshold would serve every size (the property a calibrated score needs); raw distance's moves with
the size, which the calibration table takes care of.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from calibrate_search import DEFAULT_SET, descriptors  # noqa: E402
from faceindex.analysis.calibration import Calibration, calibration  # noqa: E402
from faceindex.analysis.similarity import distance_for  # noqa: E402
from faceindex.config import Settings  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402

THRESHOLDS = (80.0, 99.0)
TARGET_FPIR = (0.01, 0.003)
COHORT = 50  # the probe's neighbours after the nearest that znorm scores it against


def scores(distances: np.ndarray, table: Calibration) -> dict[str, np.ndarray]:
    """Per probe (rows: its distances to every gallery face), each score of its nearest face; lower = closer."""
    ordered = np.sort(distances, axis=1)
    nearest_d, cohort = ordered[:, 0], ordered[:, 1 : 1 + COHORT]
    spread = np.maximum(cohort.std(axis=1), 1e-6)
    log_fmr = np.vectorize(lambda d: math.log10(max(table.false_match_rate(float(d)), 1e-300)))
    return {
        "distance": nearest_d,
        "ratio": nearest_d / np.maximum(ordered[:, 1], 1e-9),
        "znorm": (nearest_d - cohort.mean(axis=1)) / spread,
        "fmr_ratio": log_fmr(nearest_d) - log_fmr(ordered[:, 1]),  # log10 FMR(d1) / FMR(d2)
    }


def all_distances(gallery: np.ndarray, probes: np.ndarray) -> np.ndarray:
    d2 = (probes**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :] - 2.0 * probes @ gallery.T
    return np.asarray(np.sqrt(np.maximum(d2, 0.0)))


def nearest(gallery: np.ndarray, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index and distance of each probe's nearest gallery face."""
    d2 = (probes**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :] - 2.0 * probes @ gallery.T
    distances = np.sqrt(np.maximum(d2, 0.0))
    index = distances.argmin(axis=1)
    return index, distances[np.arange(len(probes)), index]


def one_gallery(
    rng: np.random.Generator, enrolled: dict[str, np.ndarray], strangers: np.ndarray, size: int
) -> dict[str, Any]:
    people = rng.choice(sorted(enrolled), size=size, replace=False)
    gallery, mated, mated_truth = [], [], []
    for number, person in enumerate(people):
        photos = enrolled[person]
        first = rng.integers(len(photos))
        gallery.append(photos[first])
        others = np.delete(photos, first, axis=0)
        mated.append(others)
        mated_truth += [number] * len(others)
    gallery_array = np.asarray(gallery, np.float64)
    mated_index, mated_distance = nearest(gallery_array, np.concatenate(mated).astype(np.float64))
    _, stranger_distance = nearest(gallery_array, strangers.astype(np.float64))
    right = mated_index == np.asarray(mated_truth)
    table = calibration()
    mated_scores = scores(all_distances(gallery_array, np.concatenate(mated).astype(np.float64)), table)
    stranger_scores = scores(all_distances(gallery_array, strangers.astype(np.float64)), table)
    out: dict[str, Any] = {}
    for threshold in THRESHOLDS:
        raw_limit = distance_for(threshold)
        calibrated_limit = table.search_distance_for(threshold, size)
        for name, limit in (("raw", raw_limit), ("calibrated", calibrated_limit)):
            out[f"{name}@{threshold:g}"] = {
                "fpir": float((stranger_distance <= limit).mean()),
                "fnir": float(1.0 - (right & (mated_distance <= limit)).mean()),
                "distance": round(float(limit), 4),
            }
    for target in TARGET_FPIR:
        limit = float(np.quantile(stranger_distance, target))
        out[f"fnir_at_fpir_{target:g}"] = float(1.0 - (right & (mated_distance < limit)).mean())
    out["rank1"] = float(right.mean())
    for name in mated_scores:
        for target in TARGET_FPIR:
            limit = float(np.quantile(stranger_scores[name], target))
            out[f"{name}_fnir_at_fpir_{target:g}"] = float(1.0 - (right & (mated_scores[name] < limit)).mean())
            out[f"{name}_threshold_at_fpir_{target:g}"] = limit
    for target in TARGET_FPIR:  # a fixed threshold: FMR(d1) / FMR(d2) is uniform for a stranger at any size
        limit = math.log10(target)
        out[f"fmr_ratio@{target:g}"] = {
            "fpir": float((stranger_scores["fmr_ratio"] <= limit).mean()),
            "fnir": float(1.0 - (right & (mated_scores["fmr_ratio"] <= limit)).mean()),
        }
    return out


def mean_over(draws: list[dict[str, Any]]) -> dict[str, Any]:
    """The mean of each figure over the draws (one level of nesting: {"raw@80": {"fpir": ...}})."""
    out: dict[str, Any] = {}
    for key, first in draws[0].items():
        if isinstance(first, dict):
            out[key] = {k: round(float(np.mean([d[key][k] for d in draws])), 4) for k in first}
        else:
            out[key] = round(float(np.mean([d[key] for d in draws])), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--sizes", type=int, nargs="*", default=[30, 60, 120, 225])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/identification.json")
    parser.add_argument("--as", dest="run", choices=("before", "after"), default="after")
    args = parser.parse_args()
    settings = Settings()
    files, people, vectors = descriptors(args.set, FaceEngine(settings))
    split = {}
    with open(args.set / "manifest.csv") as handle:
        for line in handle.readlines()[1:]:
            fields = line.split(",")
            split[fields[1]] = fields[2]
    enrolled: dict[str, list[np.ndarray]] = {}
    strangers = []
    for person, vector in zip(people, vectors, strict=True):
        if split[person] == "stranger":
            strangers.append(vector)
        else:
            enrolled.setdefault(person, []).append(vector)
    enrolled_arrays = {p: np.asarray(v) for p, v in enrolled.items() if len(v) >= 2}
    rng = np.random.default_rng(12)
    sizes = {}
    for size in args.sizes:
        size = min(size, len(enrolled_arrays))
        draws = [one_gallery(rng, enrolled_arrays, np.asarray(strangers), size) for _ in range(args.repeats)]
        sizes[str(size)] = mean_over(draws)
        print(f"{size} people: {json.dumps(sizes[str(size)])}")
    report = {
        "set": str(args.set),
        "photos": len(files),
        "enrolled_people": len(enrolled_arrays),
        "stranger_probes": len(strangers),
        "repeats": args.repeats,
        "calibration": calibration().source,
        "engine": {"detector": settings.detector, "landmarks": settings.landmarks, "alignment": settings.alignment},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")},
        "sizes": sizes,
    }
    runs = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "sizes" in runs:  # one run, written before before/after were kept: the before
        runs = {"before": runs}
    runs[args.run] = report
    args.out.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
