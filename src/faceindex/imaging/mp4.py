"""A small, pure reader of the ISO base media (MP4 / MOV) header: what OpenCV's capture does not tell.

OpenCV reports the codec tag, size, frame rate and frame count, but not the container, the colour
range or the track's own duration. This reads them from the boxes themselves: `ftyp`, `moov` →
`mvhd`, `trak` → `tkhd` (display matrix: phone videos' rotation), `mdia` → `mdhd`, `hdlr`,
`stsd` → the sample entry (`avc1`, `hvc1`, `mp4v`, ...) and in it `colr` (nclx full-range flag) or,
for H.264 without one, the SPS's VUI `video_full_range_flag`.

It reads only headers: `mdat` is skipped by seeking, `moov` is read whole but capped, so a 10 GB
file costs a few reads. A top-level box that claims more bytes than the file holds means the file
was cut short (`truncated`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_MOOV_BYTES = 64 * 1024 * 1024  # a 6 h video's sample tables fit well inside this
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
QUICKTIME_BRAND = b"qt  "


@dataclass(frozen=True)
class Mp4Info:
    brand: str  # ftyp major brand: "isom", "mp42", "qt  ", ...
    codec_tag: str | None  # the video sample entry: "avc1", "hvc1", "mp4v", ...
    duration_ms: int | None  # the video track's (mdhd), else the movie's (mvhd)
    rotation: int  # display rotation in degrees, clockwise: 0, 90, 180 or 270
    full_range: bool | None  # None: the header does not say
    width: int | None  # tkhd's presentation size before rotation
    height: int | None
    truncated: bool  # a box runs past the end of the file


def looks_like_mp4(head: bytes) -> bool:
    """ISO BMFF starts with a box: `ftyp` normally; old QuickTime files may start with moov/mdat/wide/free."""
    return len(head) >= 8 and head[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"}


def read_mp4(stream: BinaryIO, size: int) -> Mp4Info:
    """Read the header boxes of an MP4/MOV in `stream` (`size` bytes long)."""
    brand, moov, truncated = "", b"", False  # moov: the movie box's body
    for kind, start, length in _boxes(stream, 0, size):
        if start + length > size:
            truncated = True
        if kind == b"ftyp":
            stream.seek(start)
            brand = stream.read(min(length, 16))[8:12].decode("latin-1")
        elif kind == b"moov" and not moov:
            stream.seek(start)
            moov = stream.read(min(length, MAX_MOOV_BYTES))
            moov = moov[16:] if struct.unpack_from(">I", moov)[0] == 1 else moov[8:]  # the body: 64- or 32-bit size
    return _parse_moov(brand, moov, truncated)


def _boxes(stream: BinaryIO, offset: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, total length) of each top-level box between offset and end, headers only."""
    while offset + 8 <= end:
        stream.seek(offset)
        header = stream.read(16)
        if len(header) < 8:
            return
        length, kind = struct.unpack(">I4s", header[:8])
        if length == 1 and len(header) == 16:
            length = struct.unpack(">Q", header[8:16])[0]
        elif length == 0:
            length = end - offset
        if length < 8:
            return  # not a box: stop rather than loop
        yield kind, offset, length
        offset += length


def _children(data: bytes, offset: int = 0, end: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    end = len(data) if end is None else end
    while offset + 8 <= end:
        length, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if length == 1 and offset + 16 <= end:
            length, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif length == 0:
            length = end - offset
        if length < header:
            return
        yield kind, data[offset + header : min(offset + length, end)]
        offset += length


def _parse_moov(brand: str, moov: bytes, truncated: bool) -> Mp4Info:
    movie_ms: int | None = None
    video: Mp4Info | None = None
    for kind, body in _children(moov) if moov else ():
        if kind == b"mvhd":
            movie_ms = _duration_ms(body)
        elif kind == b"trak" and video is None:
            video = _video_track(brand, body, truncated)
    if video is None:
        return Mp4Info(brand, None, movie_ms, 0, None, None, None, truncated or not moov)
    if video.duration_ms is None:
        return Mp4Info(**{**video.__dict__, "duration_ms": movie_ms})
    return video


def _video_track(brand: str, trak: bytes, truncated: bool) -> Mp4Info | None:
    rotation, width, height = 0, None, None
    duration, handler, entry = None, b"", None
    for kind, body in _children(trak):
        if kind == b"tkhd":
            rotation, width, height = _tkhd(body)
        elif kind == b"mdia":
            for sub, sub_body in _children(body):
                if sub == b"mdhd":
                    duration = _duration_ms(sub_body)
                elif sub == b"hdlr" and len(sub_body) >= 12:
                    handler = sub_body[8:12]
                elif sub == b"minf":
                    entry = _sample_entry(sub_body)
    if handler != b"vide":
        return None
    tag, full_range = entry if entry else (None, None)
    return Mp4Info(brand, tag, duration, rotation, full_range, width, height, truncated)


def _duration_ms(body: bytes) -> int | None:
    """mvhd/mdhd: version 0 has 32-bit times, version 1 64-bit; timescale then duration."""
    if not body:
        return None
    if body[0] == 1 and len(body) >= 32:
        timescale, duration = struct.unpack_from(">IQ", body, 20)
    elif len(body) >= 20:
        timescale, duration = struct.unpack_from(">II", body, 12)
    else:
        return None
    if timescale == 0 or duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return round(int(duration) * 1000 / int(timescale))


def _tkhd(body: bytes) -> tuple[int, int | None, int | None]:
    matrix_at = 4 + (32 if body[:1] == b"\x01" else 20) + 16  # times, id, duration; then reserved, layer, volume
    if len(body) < matrix_at + 44:
        return 0, None, None
    a, b = struct.unpack_from(">ii", body, matrix_at)
    width, height = struct.unpack_from(">II", body, matrix_at + 36)
    # (a b; c d) in 16.16 fixed point maps x' = a x + c y, y' = b x + d y (y down): a = 0, b = 1 is a
    # quarter turn clockwise, as phones write portrait video
    rotation = round(math.degrees(math.atan2(b, a))) % 360
    rotation = min((0, 90, 180, 270, 360), key=lambda r: abs(r - rotation)) % 360
    return rotation, width >> 16, height >> 16


def _sample_entry(minf: bytes) -> tuple[str, bool | None] | None:
    for kind, body in _children(minf):
        if kind != b"stbl":
            continue
        for sub, stsd in _children(body):
            if sub == b"stsd" and len(stsd) >= 16:
                # fullbox header (4) + entry count (4), then the first entry: size, format
                tag = stsd[12:16]
                entry = stsd[16 : 8 + struct.unpack_from(">I", stsd, 8)[0]]
                # a visual sample entry has 78 bytes of fields before its own boxes
                return tag.decode("latin-1"), _full_range(tag, entry[78:])
    return None


def _full_range(tag: bytes, boxes: bytes) -> bool | None:
    sps_range: bool | None = None
    for kind, body in _children(boxes):
        if kind == b"colr" and body[:4] == b"nclx" and len(body) >= 11:
            return bool(body[10] & 0x80)
        if kind == b"avcC":
            sps_range = _avcc_full_range(body)
    if tag in (b"jpeg", b"mjpa", b"mjpb"):
        return True  # JPEG's YCbCr is full range unless a colr box says otherwise
    return sps_range


def _avcc_full_range(avcc: bytes) -> bool | None:
    if len(avcc) < 8 or not avcc[5] & 0x1F:
        return None
    length = struct.unpack_from(">H", avcc, 6)[0]
    try:
        return h264_sps_full_range(avcc[8 : 8 + length])
    except (IndexError, ValueError):
        return None


def h264_sps_full_range(nal: bytes) -> bool | None:
    """video_full_range_flag of an H.264 SPS NAL unit (ITU-T H.264 7.3.2.1.1 and E.1.1); None without VUI."""
    bits = _Bits(nal[1:].replace(b"\x00\x00\x03", b"\x00\x00"))
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma = bits.ue()
        if chroma == 3:
            bits.u(1)
        bits.ue()
        bits.ue()
        bits.u(1)
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(12 if chroma == 3 else 8):
                if bits.u(1):
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.u(1)
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.u(1)
    bits.ue()  # pic_width_in_mbs_minus1
    bits.ue()
    if not bits.u(1):  # frame_mbs_only_flag
        bits.u(1)
    bits.u(1)
    if bits.u(1):  # frame_cropping_flag
        for _ in range(4):
            bits.ue()
    if not bits.u(1):  # vui_parameters_present_flag
        return None
    if bits.u(1) and bits.u(8) == 255:  # aspect_ratio_info_present_flag, Extended_SAR
        bits.u(32)
    if bits.u(1):  # overscan_info_present_flag
        bits.u(1)
    if not bits.u(1):  # video_signal_type_present_flag
        return None
    bits.u(3)  # video_format
    return bool(bits.u(1))


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale:
            next_scale = (last + bits.se() + 256) % 256
        last = next_scale or last


class _Bits:
    """MSB-first bit reader with Exp-Golomb codes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]  # IndexError past the end: the caller gives up
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while not self.u(1):
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)
