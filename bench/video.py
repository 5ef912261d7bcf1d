"""Stored video at the default sampling (5 frames a second): faceindex against face_recognition, same frames.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/video.py [--seconds 10] [--out bench/results/video.json]
    .venv/bin/python bench/table.py video

Clips: the shared `short_hamilton_clip.mp4` (640x360, 29.97 fps, 9.2 s: a man on stage, close-ups,
an audience) upscaled (bicubic) to 1280x720 and 1920x1080 and looped to `--seconds`, written as
MPEG-4 Part 2 (`mp4v`: OpenCV's bundled FFmpeg has no H.264 encoder) into a temporary folder that is
deleted afterwards. Upscaling keeps the faces' content and makes the pixels 720p's and 1080p's.

For each clip, one process, one after the other:
  * **faceindex end to end**, as a GetFaceSearch job runs it (`service.video.run_job`'s settings: the
    detector at `[video] detector_upsample` = 0, descriptors only on the frames the tracker asks for):
    `imaging.video` opens the file and samples it, `FaceEngine.analyze` (detector cascade, landmarks,
    pose, quality, descriptors) per sampled frame, `tracking.Tracker`, then each person's mean
    descriptor searched (exact, numpy) among the shared face photos' descriptors. Wall time against the
    clip's duration: x real time.
  * **paired, per sampled frame** (the frames decoded once beforehand, so decoding counts for neither):
    faceindex (analyze + tracker update), faceindex with `detector_upsample = 0` (tiles down to 640 px
    instead of 320), the video job's path (upsample 0 and descriptors only when the tracker asks), and
    face_recognition (HOG
    `face_locations`, upsample 1, + `face_encodings`), each frame by each in turn so that load from
    other processes falls on all of them alike. Frames per second = frames / summed time.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))  # machine_info, also when a test loads this file

import face_recognition  # noqa: E402

from faceindex.config import Settings  # noqa: E402
from faceindex.imaging.decode import DecodedImage  # noqa: E402
from faceindex.imaging.video import DEFAULT_FPS, open_video  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402
from faceindex.service.faces import embed_faces  # noqa: E402
from faceindex.tracking import Observation, Tracker  # noqa: E402
from faceindex.types import BoundingBox  # noqa: E402
from machine_info import machine as machine_of  # noqa: E402

Runner = Callable[[np.ndarray, int], int]
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
MATCH_DISTANCE = 0.6  # dlib's decision distance (Similarity 80 for one face)
JOB = "faceindex video job (upsample 0, descriptors when the tracker asks)"


def make_clip(source: Path, target: Path, size: tuple[int, int], seconds: float) -> Path:
    """The source upscaled to `size`, looped to `seconds`, at the source's frame rate."""
    capture = cv2.VideoCapture(str(source))
    rate = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), rate, size)
    for k in range(round(seconds * rate)):
        writer.write(cv2.resize(frames[k % len(frames)], size, interpolation=cv2.INTER_CUBIC))
    writer.release()
    return target


def gallery(engine: FaceEngine, testdata: Path) -> tuple[list[str], np.ndarray]:
    names, vectors = [], []
    for path in sorted((testdata / "faces").glob("*/*")):
        for _, descriptor in embed_faces(engine, path)[:1]:
            names.append(path.parent.name)
            vectors.append(descriptor)
    return names, np.stack(vectors)


def observations(
    engine: FaceEngine, frame: np.ndarray, tracker: Tracker | None = None, timestamp: int = 0
) -> list[Observation]:
    """The frame's faces; given the tracker, with descriptors only when it asks for them (the job's way)."""

    def wanted(found: list[tuple[BoundingBox, float]]) -> bool:
        assert tracker is not None
        return tracker.wants_descriptors(timestamp, [Observation(box, confidence) for box, confidence in found])

    faces = engine.analyze(DecodedImage(frame, "VIDEO"), embed_if=wanted if tracker is not None else None)
    return [Observation(f.detail.BoundingBox, f.detail.Confidence, f.descriptor) for f in faces]


def end_to_end(engine: FaceEngine, clip: Path, names: list[str], vectors: np.ndarray) -> dict[str, Any]:
    started = time.perf_counter()
    tracker, faces, frames = Tracker(), 0, 0
    with open_video(clip) as video:
        metadata = video.metadata
        for timestamp, frame in video.frames():
            found = observations(engine, frame, tracker, timestamp)
            tracker.update(timestamp, found)
            faces, frames = faces + len(found), frames + 1
    persons = tracker.finish().persons
    matched = {}
    for person in persons:
        if person.descriptor is not None:
            distances = np.linalg.norm(vectors - person.descriptor, axis=1)
            if distances.min() < MATCH_DISTANCE:
                matched[person.index] = names[int(distances.argmin())]
    seconds = time.perf_counter() - started
    duration = metadata.DurationMillis / 1000
    return {
        "video": {
            "width": metadata.FrameWidth,
            "height": metadata.FrameHeight,
            "codec": metadata.Codec,
            "duration_s": duration,
            "frame_rate": round(metadata.FrameRate, 3),
        },
        "sampled_frames": frames,
        "faces": faces,
        "persons": len(persons),
        "persons_matched": matched,
        "seconds": round(seconds, 2),
        "times_real_time": round(duration / seconds, 2),
        "under_its_duration": seconds < duration,
    }


def paired(runners: dict[str, Runner], frames: list[np.ndarray]) -> dict[str, dict[str, Any]]:
    """Each frame by each runner in turn; a runner is (frame, frame number) -> faces found."""
    spent = dict.fromkeys(runners, 0.0)
    faces = dict.fromkeys(runners, 0)
    for k, frame in enumerate(frames):
        for name, run in runners.items():
            started = time.perf_counter()
            faces[name] += run(frame, k)
            spent[name] += time.perf_counter() - started
    return {
        name: {
            "seconds": round(spent[name], 2),
            "frames_per_s": round(len(frames) / spent[name], 2),
            "ms_per_frame": round(1000 * spent[name] / len(frames), 1),
            "faces": faces[name],
        }
        for name in runners
    }


def faceindex_runner(engine: FaceEngine, as_the_job: bool = False) -> Runner:
    tracker = Tracker()

    def run(frame: np.ndarray, k: int) -> int:
        timestamp = k * round(1000 / DEFAULT_FPS)
        found = observations(engine, frame, tracker if as_the_job else None, timestamp)
        tracker.update(timestamp, found)
        return len(found)

    return run


def face_recognition_frame(frame: np.ndarray, k: int) -> int:
    locations = face_recognition.face_locations(frame, number_of_times_to_upsample=1, model="hog")
    face_recognition.face_encodings(frame, locations)
    return len(locations)


def machine() -> dict[str, Any]:
    return machine_of(
        opencv=cv2.__version__,
        face_recognition=importlib.metadata.version("face_recognition"),
        dlib=face_recognition.api.dlib.__version__,
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
        load_average_at_start=[round(x, 2) for x in os.getloadavg()],
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    default_testdata = Path(os.environ.get("FACEINDEX_TESTDATA", ROOT.parent / "shared/testdata"))
    parser.add_argument("--testdata", type=Path, default=default_testdata)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES))
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/video.json")
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": machine(), "sampling_fps": DEFAULT_FPS, "clips": {}}
    engine = FaceEngine(Settings())
    coarse = engine.with_detector(engine.settings.detector, 0)
    job = engine.with_detector(engine.settings.detector, Settings().video_detector_upsample)
    names, vectors = gallery(engine, args.testdata)
    source = args.testdata / "video/short_hamilton_clip.mp4"
    peer = "face_recognition (hog, upsample 1)"
    with tempfile.TemporaryDirectory(prefix="faceindex-bench-video-") as folder:
        for label in args.sizes:
            print(f"{label}: making the clip ...", file=sys.stderr, flush=True)
            clip = make_clip(source, Path(folder) / f"{label}.mp4", SIZES[label], args.seconds)
            with open_video(clip) as video:  # warm-up (models, first-call allocations), and the paired frames
                frames = [frame for _, frame in video.frames()]
            for warm_up in (faceindex_runner(engine), faceindex_runner(coarse), face_recognition_frame):
                warm_up(frames[0], 0)
            runners = {
                "faceindex": faceindex_runner(engine),
                "faceindex (detector_upsample 0)": faceindex_runner(coarse),
                JOB: faceindex_runner(job, as_the_job=True),
                peer: face_recognition_frame,
            }
            print(f"{label}: faceindex end to end (the job's path) ...", file=sys.stderr, flush=True)
            entry = end_to_end(job, clip, names, vectors)
            print(f"{label}: paired, {len(frames)} frames ...", file=sys.stderr, flush=True)
            entry["paired"] = paired(runners, frames)
            ours, theirs = entry["paired"][JOB], entry["paired"][peer]
            entry["speedup_over_face_recognition"] = round(theirs["seconds"] / ours["seconds"], 2)
            entry["bytes"] = clip.stat().st_size
            results["clips"][label] = entry
            print(json.dumps({k: v for k, v in entry.items() if k != "persons_matched"}), file=sys.stderr)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
