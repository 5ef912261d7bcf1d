"""Open-set scores: a search threshold means the same false-positive identification rate at any size.

A search of a collection of N faces by a stranger finds a "match" when the nearest of N unrelated faces
is closer than the threshold distance. If one unrelated face is that close with probability FMR(d) (the
per-comparison false-match rate, measured on a dev set of people who are not in the collection), then the
chance that at least one of N is, the false-positive identification rate, is

    FPIR(d, N) = 1 - (1 - FMR(d)) ** N.

A search's Similarity is a fixed, strictly decreasing map of that FPIR, so that a FaceMatchThreshold
names the same FPIR whatever the collection holds: 80 (the default) is FPIR 1%, 99 is 0.1%, and every
similarity S is FPIR 0.01 * ((100 - S) / 20) ** (1 / 1.30103). As N grows the distance a match needs
shrinks; a fixed distance threshold would instead let a stranger match *someone* ever more often.

FMR(d) is a committed table (`data/search_calibration.json`, made by `scripts/calibrate_search.py` from
the impostor distances of the dev set, docs/responsible-use.md): interpolated in log10 where measured,
extrapolated below the smallest measured rate by the exponential tail the script fitted to it. N counts
every face of the collection (times `effective_share`, measured by the script: 1.0 on the dev set).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

TABLE = Path(__file__).resolve().parent / "data" / "search_calibration.json"
DEFAULT_SIMILARITY, DEFAULT_FPIR = 80.0, 0.01
SIMILARITY_SPAN = 100.0 - DEFAULT_SIMILARITY  # 20
POWER = math.log10(SIMILARITY_SPAN)  # 1.30103: similarity 99 <-> FPIR 0.001


@dataclass(frozen=True, eq=False)  # hashed by identity: one table per process, its limits cached
class Calibration:
    distances: np.ndarray  # increasing
    log10_fmr: np.ndarray  # non-decreasing: log10 of the share of impostor pairs at or under each distance
    tail: tuple[float, float, float]  # log10 FMR = a + b d + c d^2 below distances[0]
    source: dict[str, object]
    effective_share: float = 1.0  # of a collection's faces that count as independent chances

    def false_match_rate(self, distance: float) -> float:
        """The per-comparison false-match rate of a match at `distance` (one stranger's chance)."""
        if distance <= self.distances[0]:
            a, b, c = self.tail
            return float(min(10.0 ** (a + b * distance + c * distance * distance), 10.0 ** self.log10_fmr[0]))
        return float(10.0 ** np.interp(distance, self.distances, self.log10_fmr))

    def fpir(self, distance: float, faces: int) -> float:
        """The chance that a search of `faces` unrelated faces finds one at `distance` or closer."""
        fmr = min(self.false_match_rate(distance), 1.0 - 1e-16)
        return float(-math.expm1(max(1.0, faces * self.effective_share) * math.log1p(-fmr)))

    def search_similarity(self, distance: float, faces: int) -> float:
        return similarity_for_fpir(self.fpir(distance, faces))

    @lru_cache(maxsize=4096)  # noqa: B019 - the one table lives as long as the process
    def search_distance_for(self, similarity: float, faces: int) -> float:
        """The largest distance whose search similarity in a collection of `faces` is >= `similarity`."""
        if similarity <= 0:
            return math.inf
        target = fpir_for_similarity(similarity)
        low, high = 0.0, float(self.distances[-1])
        if self.fpir(high, faces) <= target:
            return high
        for _ in range(60):  # bisection: fpir is increasing in distance
            middle = (low + high) / 2
            low, high = (middle, high) if self.fpir(middle, faces) <= target else (low, middle)
        return low


def significant(rate: float) -> float:
    """A rate to three significant digits: what the estimate is worth."""
    return float(f"{rate:.3g}")


def similarity_for_fpir(fpir: float) -> float:
    """100 at FPIR 0, 99 at 0.001, 80 at 0.01, 0 from ~0.034 on; strictly decreasing in between."""
    return max(0.0, 100.0 - SIMILARITY_SPAN * float((fpir / DEFAULT_FPIR) ** POWER))


def fpir_for_similarity(similarity: float) -> float:
    return float(DEFAULT_FPIR * ((100.0 - min(similarity, 100.0)) / SIMILARITY_SPAN) ** (1.0 / POWER))


@cache
def calibration(path: Path = TABLE) -> Calibration:
    table = json.loads(path.read_text())
    return Calibration(
        distances=np.asarray(table["distances"], np.float64),
        log10_fmr=np.asarray(table["log10_fmr"], np.float64),
        tail=(float(table["tail"][0]), float(table["tail"][1]), float(table["tail"][2])),
        source=table["source"],
        effective_share=float(table.get("effective_share", 1.0)),
    )
