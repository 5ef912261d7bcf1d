"""One request's cost is bounded by its pixels, not by its shape or by what its header claims.

Peak memory is measured as the peak resident set of a fresh process (`ru_maxrss`): the decoders and
the detector allocate outside Python's heap, where tracemalloc cannot see.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceindex.errors import InvalidImageFormat
from faceindex.imaging.decode import decode_image

# Loads the engine, warms it on a real photo (so model arenas are in the baseline), then analyses
# one image and prints the growth of the peak resident set in bytes, or the error code.
PEAK_SCRIPT = """
import json, resource, sys
from faceindex.config import Settings
from faceindex.errors import FaceIndexError
from faceindex.pipeline import FaceEngine
from pathlib import Path
engine = FaceEngine(Settings(model_cache=Path(sys.argv[1])))
engine.analyze(Path(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    faces, code = len(engine.analyze(Path(sys.argv[3]))), None
except FaceIndexError as error:
    faces, code = 0, error.code
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"peak_growth": peak * 1024, "faces": faces, "code": code}))
"""


def _jpeg(width: int, height: int, seed: int = 0) -> bytes:
    """Coarse noise (not flat: the detector has something to look at), compressed hard."""
    rng = np.random.default_rng(seed)
    pixels = (rng.integers(0, 4, (height, width, 3)) * 64).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=30)
    return out.getvalue()


def _peak(model_cache: Path, warm_photo: Path, image: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(model_cache), str(warm_photo), str(image)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def warm_photo(testdata: Path) -> Path:
    return next(p for p in sorted((testdata / "multi").iterdir()) if p.is_file())


@pytest.mark.slow
def test_peak_memory_follows_pixels_not_shape(
    tmp_path: Path, engine: object, model_cache: Path, warm_photo: Path
) -> None:
    """80 x 30000 (2.4 MP) once took 3.2 GB: the detector padded it to a 30000 px square. Now a long
    strip costs about what a square of as many pixels costs, in either orientation."""
    shapes = {"square": (1550, 1550), "tall": (80, 30000), "wide": (30000, 80), "tallest": (80, 65500)}
    growth = {}
    for name, (width, height) in shapes.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(_jpeg(width, height))
        result = _peak(model_cache, warm_photo, path)
        assert result["code"] is None, result
        growth[name] = int(result["peak_growth"])  # type: ignore[call-overload]
    mib = 1024 * 1024
    for name in ("tall", "wide"):
        assert growth[name] <= 2 * growth["square"] + 64 * mib, growth
    # 80 x 65500 is 5.2 MP: ~16 MB of pixels; it once needed ~13 GB
    assert growth["tallest"] < 400 * mib, growth


def _header_only_jpeg(width: int, height: int, scan_bytes: int) -> bytes:
    """A real JPEG's headers (SOF declaring width x height, tables, SOS) with its scan data cut to
    `scan_bytes` and an end marker appended: what libjpeg would decode as a full image of grey."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(out, "JPEG", quality=10)
    data = out.getvalue()
    sos = data.find(b"\xff\xda")
    header_end = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    return data[: header_end + scan_bytes] + b"\xff\xd9"


def test_a_jpeg_without_its_scan_data_is_refused_before_decoding() -> None:
    fake = _header_only_jpeg(6000, 6000, 100)
    assert len(fake) < 1000
    with pytest.raises(InvalidImageFormat, match="truncated"):
        decode_image(fake)


def test_a_jpeg_with_no_scan_at_all_is_refused() -> None:
    data = _header_only_jpeg(200, 200, 0)
    sos = data.find(b"\xff\xda")
    with pytest.raises(InvalidImageFormat):
        decode_image(data[:sos] + b"\xff\xd9")


@pytest.mark.parametrize(
    "options",
    [{"quality": 1, "optimize": True}, {"quality": 1, "progressive": True, "optimize": True}, {"quality": 95}],
    ids=["optimized", "progressive", "fine"],
)
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_flat_jpegs_that_compress_to_almost_nothing_still_decode(options: dict[str, object], mode: str) -> None:
    """The scan-data check must not refuse real files: a flat image is the most compressible JPEG."""
    out = io.BytesIO()
    Image.new(mode, (3000, 2000), 0).save(out, "JPEG", **options)
    decoded = decode_image(out.getvalue())
    assert (decoded.width, decoded.height) == (3000, 2000)


def test_extreme_shapes_are_analysed_or_refused_cleanly(engine: object) -> None:
    """Every shape within the limits gives an answer; smaller than 80 px on a side is refused."""
    from faceindex.errors import InvalidParameter
    from faceindex.pipeline import FaceEngine

    assert isinstance(engine, FaceEngine)
    for width, height in [(80, 20000), (20000, 80), (81, 81)]:
        assert engine.analyze(_jpeg(width, height)) == []
    with pytest.raises(InvalidParameter, match="at least 80"):
        engine.analyze(_jpeg(79, 20000))
