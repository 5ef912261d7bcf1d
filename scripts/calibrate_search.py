"""Make src/faceindex/analysis/data/search_calibration.json: the per-comparison false-match rate of each
descriptor distance, measured on the impostor pairs of a dev set (issue 12.2; docs/responsible-use.md).

    .venv/bin/python scripts/calibrate_search.py [--set ~/.cache/faceindex/devsets/celeba_people]
        [--split enrolled] [--out src/faceindex/analysis/data/search_calibration.json]

The descriptors are the service's own (FaceEngine.analyze, the largest face of each photo), cached beside
the set in descriptors.npz (keyed by the engine's settings). Every pair of photos of two different people
of the split (by default the enrolled people of identification.csv, so the held-out strangers stay unseen
for bench/identification.py) is an impostor pair; FMR(d) is the share of them at distance <= d, on a
0.0025 grid. Below the smallest rate measured with at least MIN_PAIRS pairs the table is extrapolated by a
line fitted to log10 FMR between that rate and 1e-4 (an exponential tail). The table holds rates only: no descriptor, no
photo and no name of anyone in the set.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faceindex.analysis.calibration import TABLE  # noqa: E402
from faceindex.config import Settings  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402

DEFAULT_SET = Path.home() / ".cache" / "faceindex" / "devsets" / "celeba_people"
STEP = 0.0025
GALLERY_SIZES = (10, 30, 60, 100)
MIN_PAIRS = 30  # a rate measured from fewer impostor pairs is left to the fitted tail
TAIL_TOP = 1e-4


def descriptors(root: Path, engine: FaceEngine) -> tuple[list[str], list[str], np.ndarray]:
    """(files, people, N x 128) for every photo of the set in which a face was found."""
    with open(root / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    settings = engine.settings
    key = f"{settings.detector}-{settings.detector_upsample}-{settings.landmarks}-{settings.alignment}"
    cache = root / "descriptors.npz"
    if cache.exists():
        saved = np.load(cache, allow_pickle=False)
        if str(saved["key"]) == key and len(saved["files"]) + int(saved["missing"]) == len(rows):
            return list(saved["files"]), list(saved["people"]), saved["vectors"]
    files, people, vectors, missing, start = [], [], [], 0, time.time()
    for number, row in enumerate(rows, 1):
        faces = engine.analyze(root / row["file"])
        if faces and faces[0].descriptor is not None:
            files.append(row["file"])
            people.append(row["person"])
            vectors.append(faces[0].descriptor)
        else:
            missing += 1
        if number % 250 == 0:
            rate = number / (time.time() - start)
            print(f"  descriptors: {number}/{len(rows)} ({rate:.1f}/s, {missing} without a face)", file=sys.stderr)
    array = np.asarray(vectors, np.float32)
    np.savez(cache, key=key, files=files, people=people, vectors=array, missing=missing)
    return files, people, array


def split_people(root: Path, split: str) -> set[str]:
    with open(root / "manifest.csv", newline="") as handle:
        return {row["person"] for row in csv.DictReader(handle) if split == "all" or row["split"] == split}


def impostor_histogram(people: np.ndarray, vectors: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.zeros(len(edges) - 1, np.int64)
    squared = (vectors.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(vectors), 512):
        block = vectors[start : start + 512].astype(np.float64)
        d2 = squared[start : start + 512, None] + squared[None, :] - 2.0 * block @ vectors.T.astype(np.float64)
        distances = np.sqrt(np.maximum(d2, 0.0))
        rows = np.arange(start, start + len(block))[:, None]
        impostor = (people[start : start + 512, None] != people[None, :]) & (rows < np.arange(len(vectors))[None, :])
        counts += np.histogram(distances[impostor], edges)[0]
    return counts


def table(counts: np.ndarray, edges: np.ndarray) -> dict[str, object]:
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])
    first = int(np.argmax(cumulative >= MIN_PAIRS))
    distances = edges[1:][first:]
    fmr = cumulative[first:] / total
    log10_fmr = np.log10(fmr)
    fit = (fmr <= TAIL_TOP) & (fmr > 0)
    # an exponential tail (log FMR linear in d): a quadratic fitted here curved upwards, which would put a
    # floor under FMR near distance 0; the line is what the measured decade below TAIL_TOP shows
    b, a = np.polyfit(distances[fit], log10_fmr[fit], 1)
    c = 0.0
    return {
        "distances": [round(float(d), 4) for d in distances],
        "log10_fmr": [round(float(v), 5) for v in log10_fmr],
        "tail": [float(a), float(b), float(c)],
        "impostor_pairs": total,
    }


def effective_fraction(people: np.ndarray, vectors: np.ndarray, fmr: Callable[[float], float]) -> dict[str, float]:
    """The share c of a gallery's N faces that act as independent chances of a false match: a stranger's
    distances to one gallery are correlated (a face that looks like one person looks like several), so
    1 - (1 - FMR)^N overstates FPIR. Galleries of people of the split (one photo each) are searched by the
    split's other people; c is fitted so that 1 - (1 - FMR(d))^(c N) meets the measured FPIR where that is
    0.2%-5%, and the smallest c over the gallery sizes is kept only if it stays below 1 (cN < N is then the
    conservative choice for larger galleries: no evidence says the share keeps falling)."""
    rng = np.random.default_rng(7)
    names = np.unique(people)
    fits = []
    for size in GALLERY_SIZES:
        if 2 * size > len(names):
            continue
        minima, sizes = [], []
        for _ in range(8):
            chosen = rng.permutation(names)
            gallery_people, probe_people = chosen[:size], chosen[size:]
            gallery = np.asarray([vectors[rng.choice(np.flatnonzero(people == p))] for p in gallery_people], np.float64)
            probes = vectors[np.isin(people, probe_people)].astype(np.float64)
            d2 = (probes**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :] - 2.0 * probes @ gallery.T
            minima.append(np.sqrt(np.maximum(d2.min(axis=1), 0.0)))
            sizes.append(size)
        nearest = np.concatenate(minima)
        grid = np.quantile(nearest, [0.002, 0.005, 0.01, 0.02, 0.05])
        measured = np.array([(nearest <= d).mean() for d in grid])
        best = min(
            np.linspace(0.05, 1.5, 146),
            key=lambda c: sum(
                (np.log(m) - np.log(-np.expm1(c * size * np.log1p(-fmr(float(d)))))) ** 2
                for d, m in zip(grid, measured, strict=True)
            ),
        )
        fits.append((size, float(best)))
        print(f"  gallery {size}: effective share of faces {best:.2f}", file=sys.stderr)
    return {str(size): round(c, 3) for size, c in fits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--split", default="enrolled", help="enrolled | stranger | all")
    parser.add_argument("--out", type=Path, default=TABLE)
    args = parser.parse_args()
    engine = FaceEngine(Settings())
    _, people, vectors = descriptors(args.set, engine)
    wanted = split_people(args.set, args.split)
    keep = np.array([p in wanted for p in people])
    people_array = np.asarray(people)[keep]
    edges = np.arange(0.0, 1.6 + STEP, STEP)
    counts = impostor_histogram(people_array, vectors[keep], edges)
    result = table(counts, edges)
    distances, log10_fmr = np.asarray(result["distances"]), np.asarray(result["log10_fmr"])
    fits = effective_fraction(people_array, vectors[keep], lambda d: float(10 ** np.interp(d, distances, log10_fmr)))
    result["effective_share_by_gallery"] = fits
    result["effective_share"] = min(1.0, max(fits.values())) if fits else 1.0
    result["source"] = {
        "set": "celeba_people (docs/devsets.md): CelebA photos, non-commercial research terms; rates only",
        "split": args.split,
        "people": len(set(people_array)),
        "photos": int(keep.sum()),
        "impostor_pairs": result.pop("impostor_pairs"),
        "engine": {
            "detector": engine.settings.detector,
            "landmarks": engine.settings.landmarks,
            "alignment": engine.settings.alignment,
        },
        "made_by": "scripts/calibrate_search.py",
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    fmr = dict(zip(result["distances"], result["log10_fmr"], strict=True))  # type: ignore[call-overload]
    for d in (0.4, 0.45, 0.5, 0.55, 0.6):
        print(f"  FMR at distance {d}: {10 ** fmr.get(round(d, 4), float('nan')):.2e}")
    print(f"wrote {args.out}: {result['source']}", file=sys.stderr)


if __name__ == "__main__":
    main()
