"""Video intake on the shared clips and on clips made here from the test photos (nothing binary is committed)."""

from __future__ import annotations

import itertools
import os
import random
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceindex.errors import InvalidParameter, InvalidVideo, VideoTooLarge
from faceindex.imaging import video as video_module
from faceindex.imaging.decode import DecodedImage
from faceindex.imaging.mp4 import h264_sps_full_range, read_mp4
from faceindex.imaging.video import AVI, QUICKTIME, VideoLimits, open_video
from faceindex.pipeline import FaceEngine
from faceindex.service.faces import embed_faces
from faceindex.tracking import Observation, Tracker

Maker = Callable[[str, str], Path]
SIZE, FPS, COUNT = (320, 240), 10, 40  # 4 s


@pytest.fixture(scope="module")
def make_clip(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Maker:
    """make_clip(fourcc, extension): a 4 s clip of a test photo panning, with a red square in its top-left corner."""
    folder = tmp_path_factory.mktemp("clips")
    photo = cv2.resize(cv2.imread(str(testdata / "faces/obama/1.jpg")), SIZE)

    def make(fourcc: str, extension: str) -> Path:
        path = folder / f"{fourcc}.{extension}"
        if not path.exists():
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, SIZE)
            assert writer.isOpened(), f"OpenCV cannot write {fourcc} in .{extension} here"
            for i in range(COUNT):
                frame = np.roll(photo, i * 2, axis=1)
                frame[:40, :40] = (0, 0, 255)  # BGR red: shows which way a rotation turned the picture
                writer.write(frame)
            writer.release()
        return path

    return make


def _rotated(source: Path, target: Path) -> Path:
    """The clip with a phone's portrait display matrix in tkhd (a quarter turn clockwise)."""
    data = bytearray(source.read_bytes())
    body = data.index(b"tkhd") + 4
    matrix = body + 4 + (32 if data[body] == 1 else 20) + 16
    struct.pack_into(">9i", data, matrix, 0, 0x10000, 0, -0x10000, 0, 0, SIZE[1] << 16, 0, 0x40000000)
    target.write_bytes(bytes(data))
    return target


def test_the_shared_h264_clip_reads_as_rekognition_describes_it(testdata: Path) -> None:
    path = testdata / "video/short_hamilton_clip.mp4"
    with open_video(path) as video:
        meta = video.metadata
        sampled = list(video.frames())
    assert (meta.Codec, meta.Format, meta.ColorRange) == ("h264", QUICKTIME, "LIMITED")
    assert (meta.FrameWidth, meta.FrameHeight) == (640, 360)
    assert meta.FrameRate == pytest.approx(29.97, abs=1e-3)
    assert meta.DurationMillis == 9176  # 275 frames at 29.97 a second, the track's own duration
    stamps = [t for t, _ in sampled]
    assert len(sampled) == 46  # 5 a second over 9.18 s
    assert stamps[:4] == [0, 200, 400, 601]  # the source frames' own times, not the targets
    assert all(b - a >= 166 for a, b in itertools.pairwise(stamps))
    assert all(f.shape == (360, 640, 3) and f.dtype == np.uint8 for _, f in sampled)


def test_bytes_decode_in_memory_to_the_same_frames_as_the_path(testdata: Path) -> None:
    path = testdata / "video/short_hamilton_clip.mp4"
    with open_video(path) as from_path, open_video(path.read_bytes()) as from_bytes:
        assert from_path.metadata == from_bytes.metadata
        for (t1, f1), (t2, f2) in zip(from_path.frames(fps=1), from_bytes.frames(fps=1), strict=True):
            assert t1 == t2 and np.array_equal(f1, f2)


def test_frames_are_rgb(make_clip: Maker) -> None:
    with open_video(make_clip("MJPG", "avi")) as video:
        _, frame = next(video.frames())
    red, green, blue = frame[10:30, 10:30].reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue < 60


def test_sampling_rate_is_settable(testdata: Path) -> None:
    with open_video(testdata / "video/short_hamilton_clip.mp4") as video:
        every_half_second = [t for t, _ in video.frames(every_ms=500)]
        one_a_second = [t for t, _ in video.frames(fps=1)]
    assert len(every_half_second) == 19 and len(one_a_second) == 10
    assert all(abs(t - 500 * i) <= 17 for i, t in enumerate(every_half_second))
    with pytest.raises(InvalidParameter, match="not both"):
        video.frames(every_ms=100, fps=2)
    for wrong in ({"fps": 0}, {"fps": float("nan")}, {"every_ms": -5}):
        with pytest.raises(InvalidParameter, match="positive"):
            video.frames(**wrong)


def test_sampling_faster_than_the_source_gives_each_frame_once(make_clip: Maker) -> None:
    with open_video(make_clip("mp4v", "mp4")) as video:
        stamps = [t for t, _ in video.frames(fps=100)]
    assert stamps == [i * 100 for i in range(COUNT)]


def test_far_apart_samples_seek_to_the_same_frames_as_decoding_through(testdata: Path) -> None:
    path = testdata / "video/short_hamilton_clip.mp4"
    every = video_module.SEEK_AFTER_MS + 1000  # seeks
    with open_video(path) as video:
        sought = list(video.frames(every_ms=every))
    with open_video(path) as video:
        through = [(t, f) for t, f in video.frames(fps=FPS * 3) if any(abs(t - k * every) <= 17 for k in range(5))]
    assert [t for t, _ in sought] == [t for t, _ in through] and len(sought) == 4
    for (_, a), (_, b) in zip(sought, through, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0


@pytest.mark.parametrize(
    ("fourcc", "extension", "codec", "container", "colour"),
    [
        ("mp4v", "mp4", "mpeg4", QUICKTIME, "LIMITED"),
        ("mp4v", "mov", "mpeg4", QUICKTIME, "LIMITED"),
        ("MJPG", "avi", "mjpeg", AVI, "FULL"),
        ("XVID", "avi", "mpeg4", AVI, "LIMITED"),
    ],
)
def test_codecs_and_containers(
    make_clip: Maker, fourcc: str, extension: str, codec: str, container: str, colour: str
) -> None:
    path = make_clip(fourcc, extension)
    with open_video(path.read_bytes()) as video:
        meta = video.metadata
        sampled = list(video.frames())
    assert (meta.Codec, meta.Format, meta.ColorRange) == (codec, container, colour)
    assert (meta.FrameWidth, meta.FrameHeight, meta.FrameRate) == (*SIZE, FPS)
    assert meta.DurationMillis == COUNT * 1000 // FPS
    assert [t for t, _ in sampled] == list(range(0, 4000, 200))


def test_a_phone_video_comes_out_upright_with_the_upright_size(make_clip: Maker, tmp_path: Path) -> None:
    path = _rotated(make_clip("mp4v", "mp4"), tmp_path / "portrait.mp4")
    with path.open("rb") as handle:
        assert read_mp4(handle, path.stat().st_size).rotation == 90
    with open_video(path) as video:
        meta = video.metadata
        _, frame = next(video.frames())
    assert video.rotation == 90
    assert (meta.FrameWidth, meta.FrameHeight) == (SIZE[1], SIZE[0])  # what the frames and box ratios use
    assert frame.shape == (SIZE[0], SIZE[1], 3)
    top_right, top_left = frame[5:35, -35:-5].mean(axis=(0, 1)), frame[5:35, 5:35].mean(axis=(0, 1))
    assert top_right[0] > 200 and top_right[1] < 60  # turned clockwise: the red top-left corner is now top-right
    assert not (top_left[0] > 200 and top_left[1] < 60)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a video at all" * 100, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200],
    ids=["empty", "text", "mp4 header without a movie"],
)
def test_a_file_that_is_not_a_video_is_a_clear_error(content: bytes) -> None:
    with pytest.raises(InvalidVideo, match=r"not a video|no video track|cut short") as caught:
        open_video(content)
    assert "Traceback" not in caught.value.message


def test_a_photo_is_not_a_video(testdata: Path) -> None:
    with pytest.raises(InvalidVideo, match=r"not a video in a supported container \(MP4, MOV or AVI\)"):
        open_video(testdata / "faces/obama/1.jpg")


def test_an_unsupported_container_is_refused(make_clip: Maker) -> None:
    with pytest.raises(InvalidVideo, match="MP4, MOV or AVI"):
        open_video(make_clip("MJPG", "mkv"))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidVideo, match="cannot be read"):
        open_video(tmp_path / "nothing.mp4")


def test_a_truncated_mp4_is_refused_at_open(testdata: Path) -> None:
    data = (testdata / "video/short_hamilton_clip.mp4").read_bytes()
    with pytest.raises(InvalidVideo, match="cut short"):
        open_video(data[: len(data) // 2])


def test_a_truncated_avi_fails_while_decoding(make_clip: Maker) -> None:
    data = make_clip("MJPG", "avi").read_bytes()
    with open_video(data[: len(data) // 3]) as video:
        assert video.metadata.DurationMillis == 4000  # the header still declares the whole clip
        sampled = []
        with pytest.raises(InvalidVideo, match=r"stops decoding at \d+ ms of its 4000 ms"):
            sampled.extend(video.frames())
    assert 0 < len(sampled) < 20


def test_limits_of_size_and_duration(testdata: Path) -> None:
    path = testdata / "video/short_hamilton_clip.mp4"
    with pytest.raises(VideoTooLarge, match="613928 bytes; the limit is 1000 bytes") as caught:
        open_video(path, VideoLimits(max_bytes=1000))
    assert caught.value.code == "VideoTooLargeException"
    with pytest.raises(VideoTooLarge, match="lasts 9176 ms"):
        open_video(path.read_bytes(), VideoLimits(max_duration_ms=5000))
    assert VideoLimits() == VideoLimits(10 * 1024**3, 6 * 3600 * 1000)


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def nal(self) -> bytes:
        self.bits += [1] + [0] * (-(len(self.bits) + 1) % 8)  # rbsp trailing bits
        return b"\x67" + bytes(int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8))


def _sps(profile: int, vui: bool, full_range: int = 0) -> bytes:
    w = _BitWriter()
    w.u(8, profile)
    w.u(16, 0x001F)
    w.ue(0)
    if profile == 100:
        w.ue(1)  # 4:2:0
        w.ue(0)
        w.ue(0)
        w.u(1, 0)
        w.u(1, 0)  # no scaling matrix
    w.ue(0)
    w.ue(0)  # poc type 0
    w.ue(2)
    w.ue(1)
    w.u(1, 0)
    w.ue(39)
    w.ue(22)
    w.u(1, 1)  # frame_mbs_only
    w.u(1, 1)
    w.u(1, 0)  # no cropping
    w.u(1, int(vui))
    if vui:
        w.u(1, 1)
        w.u(8, 255)  # Extended_SAR
        w.u(32, 0x00010001)
        w.u(1, 0)
        w.u(1, 1)  # video_signal_type_present
        w.u(3, 5)
        w.u(1, full_range)
        w.u(1, 0)
        w.u(8, 0)
    return w.nal()


def test_the_mp4_header_reader_on_the_shared_clip(testdata: Path) -> None:
    path = testdata / "video/short_hamilton_clip.mp4"
    with path.open("rb") as handle:
        info = read_mp4(handle, path.stat().st_size)
    assert (info.brand, info.codec_tag, info.duration_ms, info.rotation) == ("isom", "avc1", 9176, 0)
    assert (info.width, info.height, info.truncated) == (640, 360, False)
    assert info.full_range is False  # said by its SPS's VUI, not assumed


def test_the_h264_vui_full_range_flag_is_read() -> None:
    assert h264_sps_full_range(_sps(100, vui=True, full_range=1)) is True
    assert h264_sps_full_range(_sps(100, vui=True, full_range=0)) is False
    assert h264_sps_full_range(_sps(66, vui=True, full_range=1)) is True
    assert h264_sps_full_range(_sps(66, vui=False)) is None


def test_one_person_talking_is_one_index_across_shots(engine: FaceEngine, testdata: Path) -> None:
    """The shared clip: Lin-Manuel Miranda far on stage (0-0.6 s), a cut-away, him close up talking (2.8-7.0 s),
    then the audience (7.2 s on: four or five people side by side). He is one Person.Index in both shots."""
    tracker = Tracker()
    with open_video(testdata / "video/short_hamilton_clip.mp4") as video:
        for timestamp, frame in video.frames():
            faces = engine.analyze(DecodedImage(frame, "VIDEO"))
            tracker.update(
                timestamp, [Observation(f.detail.BoundingBox, f.detail.Confidence, f.descriptor) for f in faces]
            )
    result = tracker.finish()
    reference = np.mean([d for _, d in embed_faces_of(engine, testdata / "faces/lin_manuel_miranda")], axis=0)
    him = min(result.persons, key=lambda p: float(np.linalg.norm(p.descriptor - reference)))
    assert float(np.linalg.norm(him.descriptor - reference)) < 0.45
    close_up = [ids for t, ids in result.frames if 2800 <= t <= 7010]
    assert len(close_up) == 22 and all(him.index in ids for ids in close_up)
    assert all(set(ids) <= {him.index, -1} for ids in close_up)  # nobody else, at most a duplicate box
    assert all(him.index in ids for t, ids in result.frames if t <= 601)  # far away on stage, the same index
    audience = [ids for t, ids in result.frames if t >= 7200]
    assert all(len(set(ids) - {-1}) == len([i for i in ids if i >= 0]) for ids in audience)  # one index a face
    assert all(him.index not in ids and len(ids) >= 3 for ids in audience)
    assert 6 <= len(result.persons) <= 8  # him, his pianist, a cut-away face, four or five in the audience
    assert [p.index for p in result.persons] == list(range(len(result.persons)))


def embed_faces_of(engine: FaceEngine, folder: Path) -> list[tuple[str, np.ndarray]]:
    return [(p.name, embed_faces(engine, p)[0][1]) for p in sorted(folder.iterdir()) if p.is_file()]


def test_bytes_are_staged_privately_and_their_name_removed_at_once(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    modes: dict[str, int] = {}
    real = video_module._capture

    def spy(path: str) -> cv2.VideoCapture:
        modes["file"] = stat.S_IMODE(os.stat(path).st_mode)
        modes["folder"] = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        return real(path)

    monkeypatch.setattr(video_module, "_capture", spy)
    with open_video((testdata / "video/short_hamilton_clip.mp4").read_bytes()) as video:
        assert list(tmp_path.iterdir()) == []  # gone while the video is still open
        stamps = [t for t, _ in video.frames(every_ms=3000)]  # seeking works on the unlinked file
    assert modes == {"file": 0o600, "folder": 0o700}
    assert stamps == [0, 3003, 6006, 9009]


def _damaged_copies(data: bytes, seed: int, count: int, most: int) -> list[bytes]:
    rng, copies = random.Random(seed), []
    for _ in range(count):
        copy = bytearray(data)
        for _ in range(rng.randint(1, most)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        copies.append(bytes(copy))
    return copies


def test_damaged_videos_that_crashed_in_memory_decoding_fail_cleanly(testdata: Path, tmp_path: Path) -> None:
    """Copies of the clip with random bytes changed on which cv2.VideoCapture(io.BytesIO(...)) segfaulted;
    each is opened from bytes in a child process (a crash must not take pytest down)."""
    data = (testdata / "video/short_hamilton_clip.mp4").read_bytes()
    cases = [_damaged_copies(data, 7, 300, 40)[i] for i in (28, 192, 247)]
    script = (
        "import sys; from faceindex.errors import FaceIndexError; from faceindex.imaging.video import open_video\n"
        "try:\n    v = open_video(open(sys.argv[1], 'rb').read()); [0 for _ in v.frames(fps=1)]; v.close()\n"
        "except FaceIndexError:\n    pass\n"
    )
    for k, case in enumerate(cases):
        path = tmp_path / f"damaged-{k}.mp4"
        path.write_bytes(case)
        done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, timeout=120)
        assert done.returncode == 0, (k, done.returncode, done.stderr[-500:])
