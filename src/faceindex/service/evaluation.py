"""`faceindex eval`: verification and identification error rates of the service's own descriptors on a
labelled photo set (issue 12.4), the numbers a buyer or an auditor asks for (NIST FRVT's and ISO/IEC
19795-1's terms: FMR, FNMR, EER; FPIR, FNIR; NISTIR 8280's ratio for groups).

Verification uses every mated pair (two photos of one person) and every non-mated pair (two people),
both on the Euclidean descriptor distance. Identification enrols the first photo of each person of the
"enrolled" half of the people (fixed by a hash of the name) and searches with their other photos (mated)
and with every photo of the other half (non-mated): rank-1 and FNIR at fixed FPIR, the threshold chosen
on the non-mated searches. Groups (a third CSV column) are scored at one global threshold, the one of
FMR 0.001 over all pairs, with bootstrap 95% intervals over people.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FMR_POINTS = ("0.01", "0.001", "0.0001")
FPIR_POINTS = ("0.1", "0.01", "0.003")
GROUP_FMR = 0.001
BOOTSTRAP = 200
MAX_NON_MATED_PAIRS = 20_000_000  # beyond this, a random sample of them (said in the report)

Floats = npt.NDArray[np.float64]


@dataclass
class Photos:
    """Descriptors of the photos in which a face was found, with their person and group."""

    vectors: npt.NDArray[np.float32]
    people: list[str]
    groups: list[str | None]
    without_face: list[str] = field(default_factory=list)


def evaluate(photos: Photos, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report, curves): the report.json dict and the distances the plots are drawn from."""
    people = np.asarray(photos.people)
    vectors = photos.vectors.astype(np.float64)
    rng = np.random.default_rng(seed)
    mated, non_mated, sampled = _pair_distances(people, vectors, rng)
    verification = _verification(mated, non_mated)
    verification["pairs"] = {"mated": len(mated), "non_mated": len(non_mated), "non_mated_sampled": sampled}
    identification, by_size = _identification(people, vectors, rng)
    report: dict[str, Any] = {
        "photos": len(people) + len(photos.without_face),
        "photos_without_a_face": len(photos.without_face),
        "people": len(set(photos.people)),
        "verification": verification,
        "identification": identification,
        "groups": _groups(photos, people, vectors, non_mated, rng),
    }
    curves = {"mated": mated, "non_mated": non_mated, "fnir_by_gallery_size": by_size}
    return report, curves


def _pair_distances(people: npt.NDArray[Any], vectors: Floats, rng: np.random.Generator) -> tuple[Floats, Floats, bool]:
    count = len(people)
    mated, non_mated = [], []
    total_non_mated = count * (count - 1) // 2
    keep = min(1.0, MAX_NON_MATED_PAIRS / max(total_non_mated, 1))
    squared = (vectors**2).sum(axis=1)
    for start in range(0, count, 256):
        block = vectors[start : start + 256]
        d2 = squared[start : start + 256, None] + squared[None, :] - 2.0 * block @ vectors.T
        distances = np.sqrt(np.maximum(d2, 0.0))
        rows = np.arange(start, start + len(block))[:, None]
        later = rows < np.arange(count)[None, :]
        same = people[start : start + 256, None] == people[None, :]
        mated.append(distances[later & same])
        others = distances[later & ~same]
        non_mated.append(others if keep == 1.0 else others[rng.random(len(others)) < keep])
    return np.concatenate(mated), np.concatenate(non_mated), keep < 1.0


def _verification(mated: Floats, non_mated: Floats) -> dict[str, Any]:
    thresholds: list[float] = np.quantile(non_mated, [float(p) for p in FMR_POINTS]).tolist() if len(non_mated) else []
    fnmr = {p: _share(mated, t, above=True) for p, t in zip(FMR_POINTS, thresholds, strict=False)}
    return {
        "eer": _eer(mated, non_mated),
        "fnmr_at_fmr": fnmr,
        "threshold_distance_at_fmr": {p: round(float(t), 4) for p, t in zip(FMR_POINTS, thresholds, strict=False)},
    }


def _share(values: Floats, threshold: float, above: bool) -> float | None:
    if not len(values):
        return None
    return round(float((values > threshold).mean() if above else (values <= threshold).mean()), 5)


def _eer(mated: Floats, non_mated: Floats) -> float | None:
    if not len(mated) or not len(non_mated):
        return None
    grid = np.quantile(np.concatenate([mated, non_mated]), np.linspace(0, 1, 2001))
    fnmr = np.array([(mated > t).mean() for t in grid])
    fmr = np.array([(non_mated <= t).mean() for t in grid])
    crossing = int(np.argmin(np.abs(fnmr - fmr)))
    return round(float((fnmr[crossing] + fmr[crossing]) / 2), 5)


def enrolled(person: str) -> bool:
    """Half the people, fixed by their name: the gallery side of identification."""
    return hashlib.sha256(person.encode()).digest()[0] % 2 == 0


def _identification(
    people: npt.NDArray[Any], vectors: Floats, rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    names = sorted(set(people.tolist()))
    gallery_people = [p for p in names if enrolled(p) and (people == p).sum() >= 2]
    strangers = np.isin(people, [p for p in names if not enrolled(p)])
    if not gallery_people or not strangers.any():
        return {"gallery_size": len(gallery_people), "rank1": None, "fnir_at_fpir": {}}, {}
    first = {p: int(np.flatnonzero(people == p)[0]) for p in gallery_people}
    gallery_rows = np.array(list(first.values()))
    mated_rows = np.array([i for i, p in enumerate(people) if p in first and first[p] != i])
    result = _search(vectors, gallery_rows, mated_rows, people, strangers)
    by_size = {}
    for size in _sizes(len(gallery_rows)):
        chosen = rng.choice(len(gallery_rows), size=size, replace=False)
        chosen_people = {people[gallery_rows[i]] for i in chosen}
        rows = np.array([i for i in mated_rows if people[i] in chosen_people])
        sized = _search(vectors, gallery_rows[chosen], rows, people, strangers)
        by_size[str(size)] = sized["fnir_at_fpir"]
    result["fnir_by_gallery_size"] = by_size
    return result, {"sizes": by_size}


def _search(
    vectors: Floats,
    gallery_rows: npt.NDArray[Any],
    mated_rows: npt.NDArray[Any],
    people: npt.NDArray[Any],
    strangers: npt.NDArray[np.bool_],
) -> dict[str, Any]:
    gallery = vectors[gallery_rows]
    index, nearest = _nearest(gallery, vectors[mated_rows])
    right = people[gallery_rows][index] == people[mated_rows]
    _, stranger_nearest = _nearest(gallery, vectors[strangers])
    fnir = {}
    for point in FPIR_POINTS:
        limit = float(np.quantile(stranger_nearest, float(point)))
        fnir[point] = round(float(1.0 - (right & (nearest < limit)).mean()), 5)
    return {
        "gallery_size": len(gallery_rows),
        "mated_searches": len(mated_rows),
        "non_mated_searches": int(strangers.sum()),
        "rank1": round(float(right.mean()), 5),
        "fnir_at_fpir": fnir,
    }


def _nearest(gallery: Floats, probes: Floats) -> tuple[npt.NDArray[np.intp], Floats]:
    d2 = (probes**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :] - 2.0 * probes @ gallery.T
    index = d2.argmin(axis=1)
    return index, np.sqrt(np.maximum(d2[np.arange(len(probes)), index], 0.0))


def _sizes(total: int) -> list[int]:
    sizes = [s for s in (10, 30, 100, 300, 1_000, 3_000, 10_000) if s < total]
    return [*sizes, total]


def _groups(
    photos: Photos, people: npt.NDArray[Any], vectors: Floats, non_mated: Floats, rng: np.random.Generator
) -> dict[str, Any]:
    groups = np.asarray([g or "" for g in photos.groups])
    names = sorted(set(groups.tolist()) - {""})
    if not names:
        return {}
    threshold = float(np.quantile(non_mated, GROUP_FMR))
    out: dict[str, Any] = {"threshold_distance": round(threshold, 4), "at_global_fmr": GROUP_FMR, "by_group": {}}
    for name in names:
        rows = np.flatnonzero(groups == name)
        out["by_group"][name] = _group_rates(people[rows], vectors[rows], threshold, rng)
    fmrs = [g["fmr"] for g in out["by_group"].values() if g["fmr"]]
    out["fmr_max_over_min"] = round(max(fmrs) / min(fmrs), 3) if len(fmrs) >= 2 else None
    return out


def _group_rates(
    people: npt.NDArray[Any], vectors: Floats, threshold: float, rng: np.random.Generator
) -> dict[str, Any]:
    mated, non_mated, _ = _pair_distances(people, vectors, rng)
    names = np.unique(people)
    draws_fmr, draws_fnmr = [], []
    for _ in range(BOOTSTRAP):  # people drawn with replacement: photos of one person are not independent
        chosen = rng.choice(names, size=len(names), replace=True)
        rows = np.concatenate([np.flatnonzero(people == p) for p in chosen])
        m, n, _ = _pair_distances(people[rows], vectors[rows], rng)
        n = n[n > 0]  # the same photo drawn twice is not a pair
        if len(n):
            draws_fmr.append((n <= threshold).mean())
        if len(m):
            draws_fnmr.append((m[m > 0] > threshold).mean() if (m > 0).any() else 0.0)
    return {
        "people": len(names),
        "photos": len(people),
        "fmr": _share(non_mated, threshold, above=False),
        "fnmr": _share(mated, threshold, above=True),
        "fmr_95": _interval(draws_fmr),
        "fnmr_95": _interval(draws_fnmr),
    }


def _interval(draws: Iterable[float]) -> list[float] | None:
    values = list(draws)
    if not values:
        return None
    low, high = np.quantile(values, [0.025, 0.975])
    return [round(float(low), 5), round(float(high), 5)]
