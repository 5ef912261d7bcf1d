"""Mutations of an image's bytes, each a pure function of a seeded `random.Random` and the bytes:
bit flips, byte runs, truncation, header edits (huge, zero and extreme declared sizes, format by
format), duplicated markers or chunks, appended garbage, corrupt or hostile EXIF. Each returns a
label for the case's name with the mutated bytes.
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from collections.abc import Callable, Iterator

Mutation = Callable[[random.Random, bytes], tuple[str, bytes]]


def bit_flips(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    if not data:
        return "bit flips (empty)", data
    out = bytearray(data)
    count = rng.randint(1, 24)
    for _ in range(count):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return f"{count} bit flips", bytes(out)


def byte_run(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    if not data:
        return "byte run (empty)", data
    start = rng.randrange(len(data))
    length = rng.choice((1, 4, 16, 256, 4096))
    value = rng.choice((0x00, 0xFF, rng.randrange(256)))
    return f"{length} bytes of {value:#04x} at {start}", data[:start] + bytes([value]) * length + data[start + length :]


def truncation(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    # half the cuts fall in the first kilobyte, where the headers are
    cut = rng.randrange(min(len(data), 1024)) if rng.random() < 0.5 else rng.randrange(max(1, len(data)))
    return f"truncated to {cut} bytes", data[:cut]


# declared sizes: huge, zero, one pixel wide, just past the 40 MP limit, wider than the field holds
DECLARED_SIZES = (
    (65500, 65500), (1, 100000), (100000, 1), (0, 0), (0, 100), (65535, 65535), (80, 500000),
    (500000, 80), (6325, 6325), (79, 1000), (2**31 - 1, 2**31 - 1), (2**32 - 1, 1),
)  # fmt: skip


def header_edit(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    width, height = rng.choice(DECLARED_SIZES)
    for sniff, edit in HEADER_EDITS:
        if sniff(data):
            label, edited = edit(rng, data, width, height)
            if edited is not None:
                return label, edited
    label, flipped = bit_flips(rng, data[:64])
    return f"header {label}", flipped + data[64:]


def _u16(value: int) -> int:
    return min(max(value, 0), 0xFFFF)


def _u32(value: int) -> int:
    return min(max(value, 0), 0xFFFFFFFF)


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset of the 0xFF, segment length including its marker) up to and including SOS."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        yield marker, position, length + 2
        if marker == 0xDA:
            return
        position += length + 2


def _is_sof(marker: int) -> bool:
    return 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)


def _jpeg_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    for marker, offset, _ in _jpeg_segments(data):
        if _is_sof(marker):
            out = bytearray(data)
            struct.pack_into(">HH", out, offset + 5, _u16(height), _u16(width))
            return f"JPEG SOF declares {_u16(width)}x{_u16(height)}", bytes(out)
    return "", None


def _png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, total length) of each whole chunk."""
    chunks, position = [], 8
    while position + 12 <= len(data):
        end = position + 12 + int.from_bytes(data[position : position + 4], "big")
        if end > len(data):
            break
        chunks.append((position, end - position))
        position = end
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    if data[12:16] != b"IHDR" or len(data) < 33:
        return "", None
    out = bytearray(data)
    struct.pack_into(">II", out, 16, _u32(width), _u32(height))
    fixed = rng.random() < 0.8  # a decoder that checks the CRC would refuse the edit: mostly fix it
    if fixed:
        struct.pack_into(">I", out, 29, zlib.crc32(bytes(out[12:29])))
    return f"PNG IHDR declares {_u32(width)}x{_u32(height)}{'' if fixed else ' (stale CRC)'}", bytes(out)


def _gif_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    if len(data) < 13:
        return "", None
    out = bytearray(data)
    where = rng.choice(("screen", "frame", "both"))
    if where in ("screen", "both"):
        struct.pack_into("<HH", out, 6, _u16(width), _u16(height))
    if where in ("frame", "both"):
        frame = _first_gif_frame(data)
        if frame is not None:
            struct.pack_into("<HH", out, frame + 5, _u16(width), _u16(height))
    return f"GIF {where} declares {_u16(width)}x{_u16(height)}", bytes(out)


def _first_gif_frame(data: bytes) -> int | None:
    """Offset of the first image descriptor (0x2C), past the colour table and extensions."""
    position = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)
    while position + 10 <= len(data):
        if data[position] == 0x2C:
            return position
        if data[position] != 0x21:
            return None
        position += 2
        while position < len(data) and data[position]:
            position += data[position] + 1
        position += 1
    return None


def _bmp_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    if len(data) < 30:
        return "", None
    out = bytearray(data)
    signed_height = -height if rng.random() < 0.3 else height  # negative: rows stored top-down
    struct.pack_into("<ii", out, 18, min(width, 2**31 - 1), max(min(signed_height, 2**31 - 1), -(2**31)))
    if rng.random() < 0.2:
        struct.pack_into("<H", out, 28, rng.choice((0, 3, 7, 64, 0xFFFF)))  # bits per pixel
    return f"BMP declares {width}x{signed_height}", bytes(out)


def _tiff_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return "", None
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    if ifd + 2 > len(data):
        return "", None
    out = bytearray(data)
    count = struct.unpack_from(order + "H", data, ifd)[0]
    # also, sometimes, hostile strip offsets / counts, bits and samples
    wanted = {256: width, 257: height}
    if rng.random() < 0.3:
        wanted[rng.choice((258, 273, 277, 278, 279))] = rng.choice((0, 1, 0xFFFF, 0xFFFFFFFF))
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(data) - 11), 12):
        tag, kind = struct.unpack_from(order + "HH", data, entry)
        if tag in wanted:
            if kind == 3:
                struct.pack_into(order + "H", out, entry + 8, _u16(wanted[tag]))
            elif kind == 4:
                struct.pack_into(order + "I", out, entry + 8, _u32(wanted[tag]))
    return f"TIFF IFD0 declares {width}x{height} ({', '.join(map(str, sorted(wanted)))})", bytes(out)


def _webp_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    kind = data[12:16]
    out = bytearray(data)
    w, h = min(max(width - 1, 0), 2**24 - 1), min(max(height - 1, 0), 2**24 - 1)
    if kind == b"VP8X" and len(data) >= 30:
        out[24:27], out[27:30] = w.to_bytes(3, "little"), h.to_bytes(3, "little")
    elif kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        bits = (bits & ~0xFFFFFFF) | (w & 0x3FFF) | ((h & 0x3FFF) << 14)
        out[21:25] = bits.to_bytes(4, "little")
    elif kind == b"VP8 " and len(data) >= 30:
        struct.pack_into("<HH", out, 26, min(width, 0x3FFF), min(height, 0x3FFF))
    else:
        return "", None
    return f"WebP {kind.decode(errors='replace').strip()} declares {width}x{height}", bytes(out)


_PNM_HEADER = re.compile(rb"\A(P[1-6])\s+(\d+)\s+(\d+)\s+((?:\d+\s)?)")


def _ppm_size(rng: random.Random, data: bytes, width: int, height: int) -> tuple[str, bytes | None]:
    match = _PNM_HEADER.match(data)
    if match is None:
        return "", None
    maxval = match.group(4)
    if maxval and rng.random() < 0.3:
        maxval = rng.choice((b"0\n", b"65535\n", b"99999999\n"))
    header = b"%s\n%d %d\n%s" % (match.group(1), width, height, maxval)
    return f"PNM header declares {width}x{height} maxval {maxval.strip().decode()}", header + data[match.end() :]


HEADER_EDITS: tuple[tuple[Callable[[bytes], bool], Callable[..., tuple[str, bytes | None]]], ...] = (
    (lambda d: d[:2] == b"\xff\xd8", _jpeg_size),
    (lambda d: d[:8] == b"\x89PNG\r\n\x1a\n", _png_size),
    (lambda d: d[:4] == b"GIF8", _gif_size),
    (lambda d: d[:2] == b"BM", _bmp_size),
    (lambda d: d[:4] in (b"II*\x00", b"MM\x00*"), _tiff_size),
    (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", _webp_size),
    (lambda d: d[:1] == b"P" and d[1:2] in b"123456", _ppm_size),
)


def duplicate_part(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """A JPEG marker segment or a PNG chunk repeated in place (else any slice)."""
    if data[:2] == b"\xff\xd8":
        segments = list(_jpeg_segments(data))
        if segments:
            marker, offset, length = rng.choice(segments)
            copy = data[offset : offset + length]
            return f"JPEG marker {marker:#04x} duplicated", data[: offset + length] + copy + data[offset + length :]
    if data[:4] == b"\x89PNG":
        chunks = _png_chunks(data)
        if chunks:
            offset, length = rng.choice(chunks)
            kind = data[offset + 4 : offset + 8].decode(errors="replace")
            copy = data[offset : offset + length]
            return f"PNG chunk {kind} duplicated", data[: offset + length] + copy + data[offset + length :]
    start = rng.randrange(max(1, len(data)))
    length = rng.randint(1, 512)
    return f"bytes {start}+{length} duplicated", data[: start + length] + data[start : start + length] + data[start:]


def appended_garbage(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(("random", "zeros", "itself", "a JPEG start"))
    tail = {
        "random": rng.randbytes(rng.randint(1, 4096)),
        "zeros": bytes(65536),
        "itself": data,
        "a JPEG start": b"\xff\xd8\xff\xe0" + rng.randbytes(64),
    }[kind]
    return f"appended {kind} ({len(tail)} bytes)", data + tail


def _crafted_exif(rng: random.Random) -> tuple[str, bytes]:
    """A TIFF-structured EXIF block with hostile entries: an out-of-range orientation, counts and
    offsets past the end, a sub-IFD pointing back at IFD0 (a loop)."""
    order = rng.choice(("<", ">"))
    entries: list[tuple[int, int, int, int]] = [(0x0112, 3, 1, rng.choice((0, 1, 6, 8, 9, 0xFFFF)))]
    extras = {
        "loop": (0x8769, 4, 1, 8),  # ExifIFD -> IFD0 again
        "huge count": (0x010F, 2, 0xFFFFFFFF, 0xFFFFFF00),  # Make: 4 GB of text, far past the end
        "offset past the end": (0x0132, 2, 20, 0x7FFFFFFF),
        "bad GPS": (0x8825, 4, 1, 0xFFFFFFF0),
        "unknown type": (0x0110, 0xFFFF, 3, 0),
    }
    chosen = rng.sample(sorted(extras), rng.randint(1, 3))
    entries += [extras[name] for name in chosen]
    entries.sort()
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    body = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        if kind == 3 and count == 1:  # a SHORT sits in the first two bytes of the value field
            body += struct.pack(order + "HHIH2x", tag, kind, count, value)
        else:
            body += struct.pack(order + "HHII", tag, kind, count, value)
    body += struct.pack(order + "I", rng.choice((0, 8)))  # next IFD: none, or IFD0 again
    return f"crafted EXIF ({', '.join(chosen)})", head + body


def exif_corruption(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    if data[:2] == b"\xff\xd8":
        for marker, offset, length in _jpeg_segments(data):
            if marker == 0xE1 and data[offset + 4 : offset + 10] == b"Exif\x00\x00" and rng.random() < 0.5:
                label, flipped = bit_flips(rng, data[offset + 10 : offset + length])
                return f"EXIF segment {label}", data[: offset + 10] + flipped + data[offset + length :]
        label, tiff = _crafted_exif(rng)
        payload = b"Exif\x00\x00" + tiff
        segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        return f"JPEG {label}", data[:2] + segment + data[2:]
    if data[:4] == b"\x89PNG" and len(data) > 33:
        label, tiff = _crafted_exif(rng)
        return f"PNG eXIf {label}", data[:33] + _png_chunk(b"eXIf", tiff) + data[33:]
    label, flipped = bit_flips(rng, data[:256])
    return f"header {label}", flipped + data[256:]


MUTATIONS: tuple[Mutation, ...] = (
    bit_flips, bit_flips, byte_run, truncation, truncation, header_edit, header_edit, header_edit,
    duplicate_part, appended_garbage, exif_corruption, exif_corruption,
)  # fmt: skip
