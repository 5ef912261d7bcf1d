"""The tracker on synthetic faces: boxes moving at known speeds, descriptors at known distances."""

from __future__ import annotations

import numpy as np
import pytest

from faceindex.tracking import Observation, Tracker, TrackerSettings, track
from faceindex.types import BoundingBox, Descriptor

STEP = 200  # ms between samples: 5 a second
SIDE = 0.1


def person(seed: int) -> Descriptor:
    """A person's descriptor: two people are ~0.9 apart, as different people are with dlib's descriptors."""
    return (np.random.default_rng(seed).normal(size=128) * 0.9 / np.sqrt(256)).astype(np.float32)


def seen(base: Descriptor, rng: np.random.Generator, spread: float = 0.15) -> Descriptor:
    """One frame's descriptor of that person: ~`spread` from the person's own."""
    return (base + rng.normal(size=128) * spread / np.sqrt(128)).astype(np.float32)


def face(
    x: float, y: float, descriptor: Descriptor | None, confidence: float = 99.9, side: float = SIDE
) -> Observation:
    return Observation(BoundingBox(Width=side, Height=side, Left=x, Top=y), confidence, descriptor)


def ids_of(result_frames: tuple[tuple[int, tuple[int, ...]], ...], position: int) -> list[int]:
    return [ids[position] for _, ids in result_frames if len(ids) > position]


def test_two_faces_moving_keep_their_indexes_numbered_by_first_appearance() -> None:
    rng = np.random.default_rng(1)
    a, b = person(1), person(2)
    frames = []
    for k in range(20):
        faces = [face(0.1 + 0.01 * k, 0.2, seen(a, rng))]
        if k >= 3:
            faces.append(face(0.6, 0.5 - 0.01 * k, seen(b, rng)))
        frames.append((k * STEP, faces))
    result = track(frames)
    assert ids_of(result.frames, 0) == [0] * 20
    assert ids_of(result.frames, 1) == [1] * 17
    first, second = result.persons
    assert (first.index, first.first_ms, first.last_ms, first.faces) == (0, 0, 19 * STEP, 20)
    assert (second.index, second.first_ms, second.last_ms, second.faces) == (1, 3 * STEP, 19 * STEP, 17)
    assert first.descriptor is not None and np.linalg.norm(first.descriptor - a) < 0.1  # the mean of its frames


@pytest.mark.parametrize("with_descriptors", [True, False])
def test_crossing_faces_keep_their_own_indexes(with_descriptors: bool) -> None:
    """Two faces pass each other along the same line, fast: by overlap alone they would swap at the crossing
    (a track's next box overlaps the other face's more than its own); the motion model or the descriptors
    keep them apart."""
    rng = np.random.default_rng(2)
    a, b = person(3), person(4)
    frames = []
    for k in range(17):
        left = face(0.1 + 0.05 * k, 0.4, seen(a, rng) if with_descriptors else None)
        right = face(0.89 - 0.05 * k, 0.41, seen(b, rng) if with_descriptors else None)
        frames.append((k * STEP, [left, right] if k % 2 else [right, left]))  # the detector's order varies
    result = track(frames)
    walking_right = [ids[0] if k % 2 else ids[1] for k, (_, ids) in enumerate(result.frames)]
    walking_left = [ids[1] if k % 2 else ids[0] for k, (_, ids) in enumerate(result.frames)]
    assert len(set(walking_right)) == len(set(walking_left)) == 1
    assert set(walking_right) != set(walking_left)
    assert len(result.persons) == 2


def test_a_face_returning_within_the_window_is_the_same_person_if_its_descriptor_agrees() -> None:
    rng = np.random.default_rng(3)
    a, stranger = person(5), person(6)
    frames = [(k * STEP, [face(0.2, 0.2, seen(a, rng))]) for k in range(10)]  # 0-1.8 s
    frames += [(k * STEP, []) for k in range(10, 25)]  # gone for 3 s
    frames += [(k * STEP, [face(0.7, 0.5, seen(a, rng))]) for k in range(25, 35)]  # back, elsewhere
    frames += [(k * STEP, [face(0.7, 0.5, seen(stranger, rng))]) for k in range(45, 50)]  # someone else, later
    settings = TrackerSettings(rejoin_within_ms=5000)
    result = track(frames, settings)
    indexes = [ids[0] for _, ids in result.frames if ids]
    assert indexes == [0] * 20 + [1] * 5
    assert [(p.first_ms, p.last_ms) for p in result.persons] == [(0, 34 * STEP), (45 * STEP, 49 * STEP)]
    # outside the window, the same face is another person
    assert [ids[0] for _, ids in track(frames, TrackerSettings(rejoin_within_ms=2000)).frames if ids][10] == 1


def test_an_occlusion_gap_keeps_the_track_by_position_alone() -> None:
    frames = [(k * STEP, [face(0.1 + 0.02 * k, 0.3, None)]) for k in range(8)]
    frames += [(k * STEP, []) for k in range(8, 11)]  # hidden for 600 ms (under max_gap_ms)
    frames += [(k * STEP, [face(0.1 + 0.02 * k, 0.3, None)]) for k in range(11, 16)]  # where it was heading
    result = track(frames)
    assert {ids[0] for _, ids in result.frames if ids} == {0}
    assert len(result.persons) == 1


def test_a_long_gap_without_descriptors_is_a_new_person() -> None:
    frames = [(0, [face(0.3, 0.3, None)]), (200, [face(0.3, 0.3, None)]), (5000, [face(0.3, 0.3, None)])]
    assert [ids for _, ids in track(frames).frames] == [(0,), (0,), (1,)]


def test_a_camera_cut_to_another_face_at_the_same_place_is_another_person() -> None:
    rng = np.random.default_rng(4)
    a, b = person(7), person(8)
    frames = [(k * STEP, [face(0.4, 0.3, seen(a, rng))]) for k in range(5)]
    frames += [(k * STEP, [face(0.41, 0.3, seen(b, rng))]) for k in range(5, 10)]
    result = track(frames)
    assert [ids[0] for _, ids in result.frames] == [0] * 5 + [1] * 5


def test_people_seen_together_are_never_merged_however_alike() -> None:
    rng = np.random.default_rng(5)
    twin = person(9)
    frames = [
        (k * STEP, [face(0.1, 0.3, seen(twin, rng, 0.05)), face(0.6, 0.3, seen(twin, rng, 0.05))]) for k in range(6)
    ]
    result = track(frames)
    assert len(result.persons) == 2
    assert all(ids == (0, 1) for _, ids in result.frames)


def test_doubtful_faces_continue_tracks_but_start_none() -> None:
    rng = np.random.default_rng(6)
    a = person(10)
    frames = [
        (0, [face(0.2, 0.2, seen(a, rng)), face(0.7, 0.7, None, confidence=60.0)]),
        (200, [face(0.21, 0.2, seen(a, rng), confidence=70.0)]),  # a turned head: low score, same track
        (400, [face(0.22, 0.2, seen(a, rng))]),
    ]
    result = track(frames)
    assert [ids for _, ids in result.frames] == [(0, -1), (0,), (0,)]
    assert len(result.persons) == 1 and result.persons[0].faces == 3


def test_a_duplicate_box_of_a_tracked_face_is_no_person() -> None:
    rng = np.random.default_rng(7)
    a = person(11)
    frames = [(k * STEP, [face(0.3, 0.3, seen(a, rng), side=0.14)]) for k in range(4)]
    frames.append((800, [face(0.3, 0.3, seen(a, rng), side=0.14), face(0.28, 0.26, seen(a, rng, 0.5), side=0.14)]))
    result = track(frames)
    assert result.frames[-1][1] == (0, -1)
    assert len(result.persons) == 1 and result.persons[0].faces == 5


def test_the_best_face_is_the_surest_and_largest() -> None:
    rng = np.random.default_rng(8)
    a = person(12)
    frames = [
        (0, [face(0.2, 0.2, seen(a, rng), confidence=99.0, side=0.10)]),
        (200, [face(0.2, 0.2, seen(a, rng), confidence=99.9, side=0.12)]),  # the best: sure and large
        (400, [face(0.2, 0.2, seen(a, rng), confidence=92.0, side=0.125)]),  # larger, much less sure
        (600, [face(0.2, 0.2, seen(a, rng), confidence=99.9, side=0.09)]),
    ]
    best = track(frames).persons[0].best
    assert (best.timestamp, best.face, best.observation.confidence) == (200, 0, 99.9)


def test_frames_must_come_in_order() -> None:
    tracker = Tracker()
    tracker.update(400, [])
    with pytest.raises(ValueError, match="increasing timestamp"):
        tracker.update(400, [])


def test_no_faces_no_persons() -> None:
    result = track([(0, []), (200, [])])
    assert result.persons == () and [ids for _, ids in result.frames] == [(), ()]


def test_descriptors_are_wanted_for_new_faces_crossings_and_now_and_then() -> None:
    rng = np.random.default_rng(9)
    a, b = person(13), person(14)
    tracker = Tracker(TrackerSettings(refresh_ms=1000))
    steady = [face(0.2, 0.2, None)]
    assert tracker.wants_descriptors(0, steady)  # a face no track has seen
    tracker.update(0, [face(0.2, 0.2, seen(a, rng))])
    assert not tracker.wants_descriptors(200, steady)  # where its track expects it, described 200 ms ago
    tracker.update(200, steady)
    assert tracker.wants_descriptors(400, [face(0.2, 0.2, None), face(0.6, 0.6, None)])  # someone new
    assert tracker.wants_descriptors(400, [face(0.26, 0.2, None)])  # moved off its track's box: a cut?
    assert tracker.wants_descriptors(400, [face(0.2, 0.2, None), face(0.21, 0.2, None)])  # one track, two faces
    assert not tracker.wants_descriptors(400, [])
    for t in (400, 600, 800, 1000):
        tracker.update(t, steady)
    assert tracker.wants_descriptors(1200, steady)  # its last descriptor is 1.2 s old
    tracker.update(1200, [face(0.2, 0.2, seen(a, rng)), face(0.6, 0.6, seen(b, rng))])
    assert not tracker.wants_descriptors(1400, [face(0.2, 0.2, None), face(0.6, 0.6, None)])


def test_tracking_with_descriptors_only_when_wanted_keeps_crossing_faces_apart() -> None:
    rng = np.random.default_rng(10)
    a, b = person(15), person(16)
    tracker, asked = Tracker(), 0
    for k in range(17):
        boxes = [(0.1 + 0.05 * k, 0.4, a), (0.89 - 0.05 * k, 0.41, b)]
        if tracker.wants_descriptors(k * STEP, [face(x, y, None) for x, y, _ in boxes]):
            asked += 1
            tracker.update(k * STEP, [face(x, y, seen(d, rng)) for x, y, d in boxes])
        else:
            tracker.update(k * STEP, [face(x, y, None) for x, y, _ in boxes])
    result = tracker.finish()
    assert len(result.persons) == 2 and all(ids == (0, 1) for _, ids in result.frames)
    assert asked < 17  # not every frame
