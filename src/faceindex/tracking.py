"""Faces across sampled video frames: boxes and descriptors in, stable person indexes out.

A tracker of our own, in the manner of ByteTrack (associate confident detections first, then let
less confident ones only continue tracks), with the 128-D descriptors as an appearance term, and
one offline pass at the end, since a stored-video job sees the whole video before it answers:

1. **Frame to frame.** Each detection is matched to a live track (seen within `max_gap_ms`, its box
   carried forward at its last velocity) by a cost of box overlap and descriptor distance; a pair
   needs IoU >= `min_iou` and, when both have descriptors, distance <= `max_step_distance` (so a
   camera cut to another face at the same place starts a new track). Confident detections
   (>= `high_confidence`) are matched first and may start tracks; the rest only continue one.
   A second box largely inside a matched one is a duplicate detection of that face: it is no person.
2. **Rejoin.** Tracks that never share a frame and whose mean descriptors are within
   `merge_distance` are one person (a face leaving and returning, a cut between shots), closest
   first, average linkage; `rejoin_within_ms` bounds the gap (None: any gap).

`Person.Index` is the merged track's number, 0-based in order of first appearance. The summaries
carry what GetFaceSearch matches against a collection: the mean descriptor and the best face
(confidence times the box's side). Thresholds are dlib-descriptor distances; the defaults were set
on the shared test clip (`short_hamilton_clip.mp4`: same person frame to frame 0.11-0.53, a cut
0.67; same person across shots, means 0.22-0.35; different people's means >= 0.39).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from faceindex.types import BoundingBox, Descriptor

MERGE_BLOCK = 1024  # rows of the track-distance matrix computed at once (bounds the merge's memory)


@dataclass(frozen=True)
class TrackerSettings:
    high_confidence: float = 90.0  # 0-100: detections at least this sure start tracks
    min_iou: float = 0.1
    max_step_distance: float = 0.6  # descriptor distance a track may move in one step
    max_gap_ms: float = 1000.0  # a track missed for longer is no longer matched by position
    duplicate_overlap: float = 0.4  # intersection over the smaller box that makes a second box a duplicate
    merge_distance: float = 0.4  # mean-descriptor distance under which two tracks are one person
    rejoin_within_ms: float | None = None  # None: tracks rejoin across any gap
    appearance_weight: float = 0.5  # share of the descriptor distance in the association cost
    confident_iou: float = 0.5  # wants_descriptors: a face this alone on one track's box needs none...
    refresh_ms: float = 1000.0  # ...unless that track's last descriptor is older than this


@dataclass(frozen=True)
class Observation:
    """One face in one sampled frame, as the pipeline gives it."""

    box: BoundingBox  # ratios of the frame
    confidence: float  # 0-100
    descriptor: Descriptor | None = None


@dataclass(frozen=True)
class BestFace:
    timestamp: int
    face: int  # position of the face in its frame's observations
    observation: Observation


@dataclass(frozen=True)
class TrackSummary:
    index: int  # Person.Index
    first_ms: int
    last_ms: int
    faces: int  # observations in the track
    best: BestFace
    descriptor: Descriptor | None = field(repr=False, compare=False)  # mean of the track's descriptors


@dataclass(frozen=True)
class Tracking:
    # (timestamp, Person.Index of each face) per frame; -1 for a face that is no person of its own (a
    # duplicate box of a tracked face, or one under high_confidence that continued no track): skip those
    frames: tuple[tuple[int, tuple[int, ...]], ...]
    persons: tuple[TrackSummary, ...]  # by index


@dataclass
class _Track:
    number: int
    box: npt.NDArray[np.float64]  # left, top, right, bottom
    velocity: npt.NDArray[np.float64]  # per ms
    last_ms: int
    recent: Descriptor | None  # the last descriptor: what the next step is compared with
    described_ms: int = -(10**12)  # when `recent` was seen
    total: npt.NDArray[np.float64] | None = None
    described: int = 0
    frames: set[int] = field(default_factory=set)
    first_ms: int = 0
    faces: int = 0
    best: BestFace | None = None
    best_key: float = -1.0


class Tracker:
    """Feed it every sampled frame in order (`update`), then `finish()` for the persons."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: list[_Track] = []
        self._frames: list[tuple[int, list[int]]] = []

    def update(self, timestamp: int, faces: Sequence[Observation]) -> list[int]:
        """Track numbers (provisional: `finish` merges them) for the faces of one frame."""
        if self._frames and timestamp <= self._frames[-1][0]:
            raise ValueError("frames must come in increasing timestamp order")
        s = self.settings
        live = [t for t in self._tracks if timestamp - t.last_ms <= s.max_gap_ms]
        boxes = [_corners(face.box) for face in faces]
        assigned: list[int | None] = [None] * len(faces)
        free = list(range(len(live)))
        high = [i for i, f in enumerate(faces) if f.confidence >= s.high_confidence]
        low = [i for i, f in enumerate(faces) if f.confidence < s.high_confidence]
        for group in (high, low):
            for i, j in self._associate(timestamp, [faces[i] for i in group], [boxes[i] for i in group], live, free):
                assigned[group[i]] = live[j].number
                free.remove(j)
        duplicates = {i: self._duplicate_of(boxes, assigned, i) for i in range(len(faces)) if assigned[i] is None}
        for i in high:
            if assigned[i] is None and duplicates[i] is None:
                assigned[i] = self._start(timestamp).number
        for i, number in enumerate(assigned):
            if number is not None:  # duplicates are not observed: the track's own box stands for the frame
                self._observe(self._tracks[number], timestamp, len(self._frames), i, faces[i], boxes[i])
        ids = [-1 if a is None else a for a in assigned]  # -1: a duplicate box, or a doubtful face no track took
        self._frames.append((timestamp, ids))
        return ids

    def wants_descriptors(self, timestamp: int, faces: Sequence[Observation]) -> bool:
        """Whether this frame's faces need descriptors to be tracked well (call before `update`).

        No, when each face overlaps exactly one live track's predicted box, by at least `confident_iou`,
        no track is claimed twice, and each of those tracks has a descriptor from the last `refresh_ms`.
        A caller that embeds faces only when asked saves the embedding on most frames of steady shots;
        a new face, a cut or a crossing asks for them.
        """
        s = self.settings
        live = [t for t in self._tracks if timestamp - t.last_ms <= s.max_gap_ms]
        claimed: set[int] = set()
        for face in faces:
            box = _corners(face.box)
            overlaps = [(t, _iou(box, t.box + t.velocity * (timestamp - t.last_ms))) for t in live]
            near = [(t, o) for t, o in overlaps if o >= s.min_iou]
            if len(near) != 1 or near[0][1] < s.confident_iou or near[0][0].number in claimed:
                return True
            track = near[0][0]
            if timestamp - track.described_ms > s.refresh_ms:
                return True
            claimed.add(track.number)
        return False

    def finish(self) -> Tracking:
        """Merge tracks of the same person and number the persons 0, 1, ... by first appearance."""
        tracks = [t for t in self._tracks if t.faces]
        root = _merge(tracks, self.settings)
        groups: dict[int, list[_Track]] = {}
        for track in tracks:
            groups.setdefault(root[track.number], []).append(track)
        ordered = sorted(groups.values(), key=lambda group: min(t.first_ms for t in group))
        index_of: dict[int, int] = {}
        persons = []
        for index, group in enumerate(ordered):
            for track in group:
                index_of[track.number] = index
            persons.append(_summary(index, group))
        frames = tuple(
            (timestamp, tuple(index_of.get(number, -1) for number in numbers)) for timestamp, numbers in self._frames
        )
        return Tracking(frames=frames, persons=tuple(persons))

    def _associate(
        self,
        timestamp: int,
        faces: list[Observation],
        boxes: list[npt.NDArray[np.float64]],
        live: list[_Track],
        free: list[int],
    ) -> list[tuple[int, int]]:
        """Greedy lowest-cost pairs (face, live track) that pass both gates."""
        s = self.settings
        candidates = []
        for i, (face, box) in enumerate(zip(faces, boxes, strict=True)):
            for j in free:
                track = live[j]
                overlap = _iou(box, track.box + track.velocity * (timestamp - track.last_ms))
                if overlap < s.min_iou:
                    continue
                cost = 1.0 - overlap
                if face.descriptor is not None and track.recent is not None:
                    distance = float(np.linalg.norm(face.descriptor - track.recent))
                    if distance > s.max_step_distance:
                        continue
                    w = s.appearance_weight
                    cost = (1 - w) * cost + w * distance / s.max_step_distance
                candidates.append((cost, i, j))
        pairs, used_faces, used_tracks = [], set(), set()
        for _, i, j in sorted(candidates):
            if i not in used_faces and j not in used_tracks:
                pairs.append((i, j))
                used_faces.add(i)
                used_tracks.add(j)
        return pairs

    def _duplicate_of(self, boxes: list[npt.NDArray[np.float64]], assigned: list[int | None], i: int) -> int | None:
        for k, number in enumerate(assigned):
            if (
                number is not None
                and k != i
                and _overlap_of_smaller(boxes[i], boxes[k]) >= self.settings.duplicate_overlap
            ):
                return number
        return None

    def _start(self, timestamp: int) -> _Track:
        track = _Track(len(self._tracks), np.zeros(4), np.zeros(4), timestamp, None, first_ms=timestamp)
        self._tracks.append(track)
        return track

    @staticmethod
    def _observe(
        track: _Track, timestamp: int, frame: int, face: int, observation: Observation, box: npt.NDArray[np.float64]
    ) -> None:
        if track.faces and timestamp > track.last_ms:
            step = (box - track.box) / (timestamp - track.last_ms)
            track.velocity = step if track.faces == 1 else 0.5 * (track.velocity + step)  # smoothed: boxes jitter
        track.box, track.last_ms = box, timestamp
        track.frames.add(frame)
        track.faces += 1
        if observation.descriptor is not None:
            vector = observation.descriptor.astype(np.float64)
            track.total = vector if track.total is None else track.total + vector
            track.described += 1
            track.recent, track.described_ms = observation.descriptor, timestamp
        key = observation.confidence * math.sqrt(max(observation.box.Width * observation.box.Height, 0.0))
        if key > track.best_key:
            track.best, track.best_key = BestFace(timestamp, face, observation), key


def track(frames: Iterable[tuple[int, Sequence[Observation]]], settings: TrackerSettings | None = None) -> Tracking:
    """Track every frame of a video at once."""
    tracker = Tracker(settings)
    for timestamp, faces in frames:
        tracker.update(timestamp, faces)
    return tracker.finish()


def _corners(box: BoundingBox) -> npt.NDArray[np.float64]:
    return np.array([box.Left, box.Top, box.Left + box.Width, box.Top + box.Height], dtype=np.float64)


def _intersection(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    return max(0.0, float(min(a[2], b[2]) - max(a[0], b[0]))) * max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))


def _area(a: npt.NDArray[np.float64]) -> float:
    return max(0.0, float(a[2] - a[0])) * max(0.0, float(a[3] - a[1]))


def _iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _overlap_of_smaller(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    smaller = min(_area(a), _area(b))
    return _intersection(a, b) / smaller if smaller > 0 else 0.0


@dataclass
class _Cluster:
    total: npt.NDArray[np.float64] | None
    described: int
    frames: set[int]
    first_ms: int
    last_ms: int


def _merge(tracks: list[_Track], s: TrackerSettings) -> dict[int, int]:
    """Track number -> its person's root track number, merging closest pairs first."""
    root = {t.number: t.number for t in tracks}
    clusters = {t.number: _Cluster(t.total, t.described, set(t.frames), t.first_ms, t.last_ms) for t in tracks}
    described = [t for t in tracks if t.total is not None and t.described]
    if len(described) < 2:
        return root
    means = np.stack([t.total / t.described for t in described if t.total is not None]).astype(np.float32)
    pairs: list[tuple[float, int, int]] = []
    squares = np.einsum("ij,ij->i", means, means)
    for start in range(0, len(means), MERGE_BLOCK):
        rows = means[start : start + MERGE_BLOCK]
        block = np.sqrt(
            np.maximum(squares[start : start + MERGE_BLOCK, None] + squares[None, :] - 2 * rows @ means.T, 0)
        )
        for r, c in zip(*np.nonzero(block < s.merge_distance), strict=True):
            if start + r < c:
                pairs.append((float(block[r, c]), described[start + r].number, described[c].number))

    def find(n: int) -> int:
        while root[n] != n:
            root[n] = root[root[n]]
            n = root[n]
        return n

    for _, a, b in sorted(pairs):
        ra, rb = find(a), find(b)
        if ra == rb or not _may_join(clusters[ra], clusters[rb], s):
            continue
        root[rb] = ra
        clusters[ra] = _joined(clusters[ra], clusters.pop(rb))
    return {n: find(n) for n in root}


def _may_join(a: _Cluster, b: _Cluster, s: TrackerSettings) -> bool:
    if a.frames & b.frames or a.total is None or b.total is None:
        return False  # seen together: two people
    if s.rejoin_within_ms is not None:
        gap = max(a.first_ms, b.first_ms) - min(a.last_ms, b.last_ms)
        if gap > s.rejoin_within_ms:
            return False
    distance = float(np.linalg.norm(a.total / a.described - b.total / b.described))
    return distance < s.merge_distance  # average linkage: the clusters' means, not the closest pair


def _joined(a: _Cluster, b: _Cluster) -> _Cluster:
    total = a.total + b.total if a.total is not None and b.total is not None else a.total
    return _Cluster(
        total, a.described + b.described, a.frames | b.frames, min(a.first_ms, b.first_ms), max(a.last_ms, b.last_ms)
    )


def _summary(index: int, group: list[_Track]) -> TrackSummary:
    best = max((t for t in group if t.best is not None), key=lambda t: t.best_key).best
    assert best is not None  # every track kept has a face
    totals = [t.total for t in group if t.total is not None]
    count = sum(t.described for t in group)
    mean = (np.sum(totals, axis=0) / count).astype(np.float32) if totals and count else None
    return TrackSummary(
        index=index,
        first_ms=min(t.first_ms for t in group),
        last_ms=max(t.last_ms for t in group),
        faces=sum(t.faces for t in group),
        best=best,
        descriptor=mean,
    )
