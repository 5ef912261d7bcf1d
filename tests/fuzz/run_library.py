"""Runs the library's fuzz cases in a process of its own, so that its peak resident set is its own and
a case that hangs or takes all memory can be killed without the test run:

    python -m tests.fuzz.run_library --seed 1 --cases 240 --model-cache DIR --testdata DIR [--only 17 42]

Prints one JSON line per event: `ready` (after the models are warm), `start` and `done` for each
case (its outcome: "ok N faces", "typed <Rekognition code>" or "fault: ..."), then `end`. Peaks are
growth of `ru_maxrss` over the warm baseline, in bytes.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import math
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np

from faceindex.config import Settings
from faceindex.errors import FaceIndexError
from faceindex.imaging.decode import DecodedImage, decode_image
from faceindex.jsonable import to_jsonable
from faceindex.pipeline import FaceEngine
from faceindex.types import AnalyzedFace
from tests.fuzz.images import Source, array_case, image_case, source_photos

ARRAY_EVERY = 25  # one case in 25 is an array (the library's third input)
WARM_PHOTO = "multi/kit_with_rose.jpg"


def library_input(seed: int, index: int, sources: list[Source]) -> tuple[str, bytes | np.ndarray]:
    if index % ARRAY_EVERY == ARRAY_EVERY // 2:
        return array_case(seed, index)
    case = image_case(seed, index, sources)
    return case.name, case.data


def run_case(engine: FaceEngine, image: bytes | np.ndarray) -> str:
    """What a library user gets: faces, or a typed error; anything else is a fault."""
    try:
        try:
            decoded = decode_image(image, engine.settings.limits)
        except FaceIndexError as refused:
            try:
                engine.analyze(image)
            except FaceIndexError as error:
                if error.code != refused.code:
                    return f"fault: decode_image raised {refused.code}, analyze {error.code}"
                return _typed(error)
            return f"fault: decode_image raised {refused.code} and analyze returned faces"
        broken = _broken_limits(decoded, engine)
        if broken:
            return f"fault: {broken}"
        faces = engine.analyze(decoded, ("ALL",))
    except FaceIndexError as error:
        return _typed(error)
    except Exception as error:  # the bug the fuzz suite is here to find
        return f"fault: untyped {type(error).__name__}: {str(error)[:300]}"
    return _check_faces(faces)


def _typed(error: FaceIndexError) -> str:
    if error.code == "InternalServerError":  # ModelError: a fault, not an answer to bad input
        return f"fault: {type(error).__name__}: {error.message[:300]}"
    return f"typed {error.code}"


def _broken_limits(decoded: DecodedImage, engine: FaceEngine) -> str | None:
    pixels, limits = decoded.pixels, engine.settings.limits
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        return f"decoded pixels are {pixels.dtype} of shape {pixels.shape}, not H x W x 3 uint8"
    if decoded.width * decoded.height > limits.max_pixels or min(decoded.width, decoded.height) < limits.min_side:
        return f"decoded {decoded.width}x{decoded.height} is outside the limits"
    return None


def _check_faces(faces: Any) -> str:
    if not isinstance(faces, list) or not all(isinstance(face, AnalyzedFace) for face in faces):
        return f"fault: analyze returned {type(faces).__name__}, not a list of faces"
    for face in faces:
        try:
            json.dumps(to_jsonable(face.detail), allow_nan=False)
        except ValueError:
            return "fault: a face's detail holds NaN or infinity"
        if face.descriptor is None or not np.isfinite(face.descriptor).all():
            return "fault: a face without a finite descriptor"
        box = face.detail.BoundingBox
        if not all(math.isfinite(v) for v in (box.Left, box.Top, box.Width, box.Height)):
            return "fault: a bounding box that is not finite"
    return f"ok {len(faces)} faces"


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _emit(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cases", type=int, default=240)
    parser.add_argument("--only", type=int, nargs="*", help="run these case indices alone")
    parser.add_argument("--model-cache", type=Path, required=True)
    parser.add_argument("--testdata", type=Path, required=True)
    parser.add_argument("--case-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    faulthandler.enable()  # a crash in native code prints where it happened
    engine = FaceEngine(Settings(model_cache=args.model_cache))
    engine.analyze(args.testdata / WARM_PHOTO)  # model arenas belong to the baseline
    baseline = _peak_bytes()
    _emit(event="ready", baseline=baseline)
    sources = source_photos(args.testdata)
    for index in args.only if args.only else range(args.cases):
        faulthandler.dump_traceback_later(args.case_timeout, exit=True)  # a hang prints its stack
        name, image = library_input(args.seed, index, sources)
        _emit(event="start", index=index, name=name)
        outcome = run_case(engine, image)
        faulthandler.cancel_dump_traceback_later()
        _emit(event="done", index=index, outcome=outcome, peak=_peak_bytes() - baseline)
    _emit(event="end", peak=_peak_bytes() - baseline)


if __name__ == "__main__":
    main(sys.argv[1:])
