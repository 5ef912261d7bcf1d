"""Video intake: bytes or a path in, Rekognition's VideoMetadata and upright RGB frames at a sampling rate out.

Decoding is OpenCV's bundled FFmpeg, always **from a file**. Paths are handed to FFmpeg as they are.
Bytes are written to a private temporary file (0600, in a fresh 0700 folder) that is unlinked as soon
as FFmpeg has opened it: the name goes at once, the disk space when the video is closed. OpenCV 5
can read from memory (`cv2.VideoCapture(io.BytesIO(data), cv2.CAP_FFMPEG, [])` works), but it
segfaulted on 4 of 450 randomly damaged copies of the test clip, where reading the same files from
disk crashed on none; a crash would take the whole server down. (The header is parsed from memory.)
Frames are yielded one at a time: memory stays at a frame plus FFmpeg's buffers whatever the length.

What OpenCV cannot tell (container, colour range, the track's duration, rotation) is read from the
header: `imaging.mp4` for MP4/MOV, the RIFF header for AVI. Metadata follows what Rekognition
reports: `Codec` and `Format` are FFmpeg's names ("h264", "QuickTime / MOV" for MP4 and MOV alike,
as AWS's own GetFaceDetection examples show); `ColorRange` is the stream's flag (nclx `colr` box,
else the H.264 SPS's VUI), LIMITED when the stream does not say, FULL for Motion JPEG.

Rotation (phone videos): frames come out upright (OpenCV applies the display matrix,
CAP_PROP_ORIENTATION_AUTO), and FrameWidth/FrameHeight are the upright frame's, the size the
bounding-box ratios refer to. AWS documents no rule; its published responses for portrait phone
clips give FrameWidth 1080, FrameHeight 1920 (and 540 x 960): the displayed size, since phones store
such clips landscape with a rotation.

Sampling: `frames(video)` yields 5 frames a second by default (`fps=` or `every_ms=` to change
it); timestamps are the source frames' own, in milliseconds. Frames between samples are skipped
with `grab()` (decoded, not converted), which measured 7x faster than seeking at 5 a second on
the 30 fps test clip; past `SEEK_AFTER_MS` between samples, seeking wins and is used instead.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import cv2
import numpy as np

from faceindex.errors import InvalidParameter, InvalidVideo, VideoTooLarge
from faceindex.imaging.mp4 import Mp4Info, looks_like_mp4, read_mp4
from faceindex.types import RGBImage

VideoInput = bytes | bytearray | memoryview | str | Path
DEFAULT_FPS = 5.0
SEEK_AFTER_MS = 2000.0  # samples further apart than this are reached by seeking (measured: see module doc)
QUICKTIME, AVI = "QuickTime / MOV", "AVI (Audio Video Interleaved)"  # FFmpeg's demuxer names, as Rekognition
CODECS = {  # OpenCV's FOURCC (FFmpeg's codec tag) -> FFmpeg's codec name, as Rekognition reports it
    "h264": "h264", "avc1": "h264", "H264": "h264", "x264": "h264",
    "hevc": "hevc", "hvc1": "hevc", "hev1": "hevc",
    "FMP4": "mpeg4", "mp4v": "mpeg4", "XVID": "mpeg4", "DIVX": "mpeg4", "DX50": "mpeg4",
    "MJPG": "mjpeg", "mjpg": "mjpeg", "jpeg": "mjpeg",
    "VP90": "vp9", "vp09": "vp9", "av01": "av1", "ffv1": "ffv1",
}  # fmt: skip


@dataclass(frozen=True)
class VideoLimits:
    """Rekognition's stored-video limits: 10 GB and 6 hours."""

    max_bytes: int = 10 * 1024**3
    max_duration_ms: int = 6 * 3600 * 1000


@dataclass(frozen=True)
class VideoMetadata:
    """Rekognition's VideoMetadata."""

    Codec: str
    DurationMillis: int
    Format: str
    FrameRate: float
    FrameHeight: int
    FrameWidth: int
    ColorRange: str  # "FULL" | "LIMITED"


class Video:
    """An open video: its metadata and a capture to sample frames from. Use as a context manager."""

    def __init__(self, capture: cv2.VideoCapture, metadata: VideoMetadata, rotation: int) -> None:
        self._capture, self.metadata, self.rotation = capture, metadata, rotation

    def __enter__(self) -> Video:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._capture.release()

    def frames(self, every_ms: float | None = None, fps: float | None = None) -> Iterator[tuple[int, RGBImage]]:
        return frames(self, every_ms=every_ms, fps=fps)


def open_video(source: VideoInput, limits: VideoLimits | None = None) -> Video:
    """Open bytes or a file path as a video, or raise VideoTooLarge / InvalidVideo (messages fit a StatusMessage)."""
    limits = limits or VideoLimits()
    container, mp4 = _header(source, limits)
    capture = _capture(str(source)) if isinstance(source, (str, Path)) else _capture_bytes(source)
    try:
        metadata, rotation = _metadata(capture, container, mp4)
        if metadata.DurationMillis > limits.max_duration_ms:
            raise VideoTooLarge(
                f"the video lasts {metadata.DurationMillis} ms; the limit is {limits.max_duration_ms} ms"
            )
    except BaseException:
        capture.release()
        raise
    return Video(capture, metadata, rotation)


def frames(video: Video, every_ms: float | None = None, fps: float | None = None) -> Iterator[tuple[int, RGBImage]]:
    """(timestamp ms of the source frame, upright RGB frame) every `every_ms`, or `fps` a second (default 5).

    A frame is taken for each multiple of the interval: the first frame at or after it (within half a
    source frame). Sampling faster than the source gives each frame once. Raises InvalidVideo if the
    stream stops decoding well before its declared end (a corrupt or cut file).
    """
    return _sample(video, _interval(every_ms, fps))  # the interval is checked now, not at the first frame


def _sample(video: Video, interval: float) -> Iterator[tuple[int, RGBImage]]:
    capture, meta = video._capture, video.metadata
    half_frame = 500.0 / meta.FrameRate if meta.FrameRate > 0 else 0.0
    seek = interval > SEEK_AFTER_MS
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    target, last, sought = 0.0, -1.0, 0.0
    while target <= meta.DurationMillis:
        if seek and target > sought:
            capture.set(cv2.CAP_PROP_POS_MSEC, target)  # FFmpeg's seek: key frame, then decode up to the target
            sought = target
        try:
            if not capture.grab():
                break
            timestamp = capture.get(cv2.CAP_PROP_POS_MSEC)
            if timestamp + half_frame < target or timestamp <= last:
                continue
            ok, bgr = capture.retrieve()
        except cv2.error:
            break  # FFmpeg gave up on the stream: reported below as a damaged file
        if not ok or bgr is None:
            break
        last = timestamp
        rgb: RGBImage = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.uint8, copy=False)
        yield round(timestamp), rgb
        target = (math.floor((timestamp + half_frame) / interval) + 1) * interval
    if last + max(interval, 1000.0) < meta.DurationMillis and target <= meta.DurationMillis:
        raise InvalidVideo(
            f"the video stops decoding at {max(last, 0):.0f} ms of its {meta.DurationMillis} ms: "
            "the file is corrupt or cut short"
        )


def _interval(every_ms: float | None, fps: float | None) -> float:
    if every_ms is not None and fps is not None:
        raise InvalidParameter("give a sampling interval (every_ms) or a rate (fps), not both")
    rate = fps if fps is not None else DEFAULT_FPS
    if every_ms is None and not (math.isfinite(rate) and rate > 0):
        raise InvalidParameter(f"the sampling rate must be a positive number of frames a second, not {rate}")
    interval = every_ms if every_ms is not None else 1000.0 / rate
    if not (math.isfinite(interval) and interval > 0):
        raise InvalidParameter(f"the sampling interval must be a positive number of milliseconds, not {interval}")
    return float(interval)


def _header(source: VideoInput, limits: VideoLimits) -> tuple[str, Mp4Info | None]:
    """The container and, for MP4/MOV, what its header says; the byte limit first."""
    if isinstance(source, (str, Path)):
        try:
            with Path(source).open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                _check_size(size, limits)
                return _container(handle, size)
        except OSError as exc:
            raise InvalidVideo(f"the video file cannot be read: {exc.strerror}") from None
    if isinstance(source, (bytes, bytearray, memoryview)):
        _check_size(len(source), limits)
        return _container(io.BytesIO(source), len(source))
    raise InvalidVideo(f"a video must be bytes or a path, not {type(source).__name__}")


def _check_size(size: int, limits: VideoLimits) -> None:
    if size > limits.max_bytes:
        raise VideoTooLarge(f"the video is {size} bytes; the limit is {limits.max_bytes} bytes")


def _container(handle: BinaryIO, size: int) -> tuple[str, Mp4Info | None]:
    head = handle.read(16)
    if looks_like_mp4(head):
        info = read_mp4(handle, size)
        if info.truncated:
            raise InvalidVideo("the video file is cut short: its MP4/MOV boxes run past the end of the file")
        if info.codec_tag is None:
            raise InvalidVideo("the MP4/MOV file has no video track")
        return QUICKTIME, info
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI, None
    raise InvalidVideo("the file is not a video in a supported container (MP4, MOV or AVI)")


def _capture(path: str) -> cv2.VideoCapture:
    try:
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [])
    except cv2.error:
        raise InvalidVideo("the video cannot be decoded") from None
    if not capture.isOpened():
        capture.release()
        raise InvalidVideo("the video cannot be decoded (unsupported codec or damaged stream)")
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # the default; frames come out upright
    return capture


def _capture_bytes(data: bytes | bytearray | memoryview) -> cv2.VideoCapture:
    """FFmpeg on a private copy: written 0600 in a fresh 0700 folder, both removed once FFmpeg has it open."""
    folder = tempfile.mkdtemp(prefix="faceindex-video-")
    path = os.path.join(folder, "video")
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(data)
        return _capture(path)
    except OSError as exc:
        raise InvalidVideo(f"the video cannot be staged for decoding: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # FFmpeg keeps its descriptor; the name goes now, the bytes when it closes
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _metadata(capture: cv2.VideoCapture, container: str, mp4: Mp4Info | None) -> tuple[VideoMetadata, int]:
    tag = (int(capture.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little").decode("latin-1")
    codec = CODECS.get(tag, tag.strip("\x00 ").lower() or "unknown")
    rate = float(capture.get(cv2.CAP_PROP_FPS))
    count = float(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if not (math.isfinite(rate) and rate > 0):
        raise InvalidVideo("the video has no frame rate: the stream is damaged")
    duration = mp4.duration_ms if mp4 and mp4.duration_ms else round(max(count, 0) * 1000 / rate)
    rotation = int(capture.get(cv2.CAP_PROP_ORIENTATION_META)) % 360
    height, width = _first_frame_size(capture)  # the upright frames' size, whatever the coded size and rotation
    full = mp4.full_range if mp4 and mp4.full_range is not None else codec == "mjpeg"
    metadata = VideoMetadata(
        Codec=codec,
        DurationMillis=int(duration),
        Format=container,
        FrameRate=float(np.float32(rate)),  # Rekognition's FrameRate is a float32
        FrameHeight=height,
        FrameWidth=width,
        ColorRange="FULL" if full else "LIMITED",
    )
    return metadata, rotation


def _first_frame_size(capture: cv2.VideoCapture) -> tuple[int, int]:
    ok, frame = capture.read()
    if not ok or frame is None or frame.size == 0:
        raise InvalidVideo("no frame of the video can be decoded: the stream is damaged or empty")
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return int(frame.shape[0]), int(frame.shape[1])
