"""The open-set scores of analysis/calibration.py (issue 12.2): a threshold is one FPIR at any size."""

from __future__ import annotations

import pytest

from faceindex.analysis.calibration import calibration, fpir_for_similarity, similarity_for_fpir


def test_similarity_is_a_fixed_decreasing_map_of_fpir() -> None:
    assert similarity_for_fpir(0.01) == pytest.approx(80.0)
    assert similarity_for_fpir(0.001) == pytest.approx(99.0)
    assert similarity_for_fpir(0.0) == 100.0 and similarity_for_fpir(0.5) == 0.0
    rates = [1e-9, 1e-6, 1e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2]
    scores = [similarity_for_fpir(r) for r in rates]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    for score in (50.0, 80.0, 90.0, 99.0, 99.9):
        assert similarity_for_fpir(fpir_for_similarity(score)) == pytest.approx(score)


@pytest.mark.parametrize("faces", [1, 100, 1_000, 10_000, 100_000, 1_000_000])
@pytest.mark.parametrize(("threshold", "rate"), [(80.0, 0.01), (99.0, 0.001)])
def test_a_threshold_means_the_same_fpir_at_every_size(faces: int, threshold: float, rate: float) -> None:
    table = calibration()
    limit = table.search_distance_for(threshold, faces)
    if limit == 0.0:  # even an identical descriptor is not that rare among a million strangers: nothing matches
        assert table.fpir(0.0, faces) > rate
        return
    assert table.fpir(limit, faces) == pytest.approx(rate, rel=1e-3)
    assert table.search_similarity(limit * 0.999, faces) >= threshold > table.search_similarity(limit * 1.01, faces)


def test_a_bigger_collection_needs_a_closer_match() -> None:
    table = calibration()
    limits = [table.search_distance_for(80.0, n) for n in (1, 10, 100, 1_000, 10_000, 1_000_000)]
    assert limits == sorted(limits, reverse=True) and limits[0] > 0.6 > limits[2] > limits[-1]
    # one comparison: the false-match rate grows with distance, and the table says where it was measured
    rates = [table.false_match_rate(d) for d in (0.1, 0.3, 0.4, 0.5, 0.6, 0.7)]
    assert rates == sorted(rates) and rates[-1] < 0.1 and table.source["impostor_pairs"] > 1_000_000  # type: ignore[operator]
