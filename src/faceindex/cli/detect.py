"""`faceindex detect` and `faceindex compare`: the face engine on files, no collection."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from faceindex.cli import exits, output
from faceindex.cli.draw import draw_faces, draw_target
from faceindex.cli.files import image_files
from faceindex.errors import FaceIndexError, InvalidParameter, ModelError
from faceindex.pipeline import FaceEngine
from faceindex.service import faces as face_service
from faceindex.service.quality import FILTERS
from faceindex.types import CompareFacesResult

COMMANDS = ("detect", "compare")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    detect = commands.add_parser("detect", help="find and analyse the faces in images and folders")
    detect.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files or folders (recursed)")
    detect.add_argument(
        "--json",
        action="store_true",
        help='one JSON line per image, for one or many: {"Image": path, "FaceDetails": [...]} as Rekognition'
        ' answers, or {"Image": path, "Error": {"Code", "Message"}}',
    )
    detect.add_argument(
        "--attributes",
        choices=["DEFAULT", "ALL"],
        default="DEFAULT",
        help="DEFAULT: box, confidence, landmarks, pose, quality; ALL adds eyes and mouth open",
    )
    detect.add_argument(
        "--draw",
        type=Path,
        metavar="OUT",
        help="draw boxes and landmarks: OUT.png or OUT.jpg for one image, else a folder that receives"
        " one PNG per image",
    )

    compare = commands.add_parser("compare", help="compare the largest face of SOURCE with the faces of TARGET")
    compare.add_argument("source", type=Path, help="image whose largest face is compared")
    compare.add_argument("target", type=Path, help="image whose faces are scored against it")
    compare.add_argument("--threshold", type=float, default=80.0, help="similarity threshold 0-100 (default 80)")
    compare.add_argument(
        "--quality-filter",
        choices=FILTERS,
        default="NONE",
        help="leave out faces below this quality bar (default NONE, as Rekognition)",
    )
    compare.add_argument("--json", action="store_true", help="print Rekognition's CompareFaces answer as JSON")


def run(engine: FaceEngine, args: argparse.Namespace) -> int:
    return _detect(engine, args) if args.command == "detect" else _compare(engine, args)


def _detect(engine: FaceEngine, args: argparse.Namespace) -> int:
    files = list(image_files(args.images))
    if not files:
        raise InvalidParameter(f"no image files in {', '.join(str(p) for p in args.images)}")
    target = draw_target(args.draw, len(files)) if args.draw else None  # a bad --draw stops before any work
    failures = found = 0
    progress = tqdm(files, desc="detect", unit="image", disable=len(files) < 2, file=sys.stderr)
    for path, name in progress:
        try:
            decoded = engine.decode(path)
            faces = [face.detail for face in engine.analyze(decoded, [args.attributes], embed=False)]
            if target:
                draw_faces(decoded.pixels, faces, target.path_for(name))
        except ModelError:
            raise
        except FaceIndexError as exc:
            failures += 1
            if args.json:
                output.json_line({"Image": str(path), "Error": {"Code": exc.code, "Message": exc.message}})
            output.say(f"faceindex: {path}: {exc.code}: {exc.message}", sys.stderr)
            continue
        found += len(faces)
        if args.json:
            output.json_line({"Image": str(path), "FaceDetails": faces})
            continue
        text = f"{path}: {output.plural(len(faces), 'face')} ({decoded.width}x{decoded.height})"
        if faces:
            text += "\n" + output.table(output.FACE_HEADERS, [output.face_row(i, f) for i, f in enumerate(faces)])
        output.say(text)
    progress.close()
    if failures:
        return exits.BAD_INPUT
    return exits.OK if found else exits.NOTHING_FOUND


def _compare(engine: FaceEngine, args: argparse.Namespace) -> int:
    threshold: float = args.threshold
    if not 0.0 <= threshold <= 100.0:
        raise InvalidParameter("--threshold must be between 0 and 100")
    # scored at threshold 0 so the unmatched faces keep their similarity for the table
    scored = face_service.compare_faces(engine, args.source, args.target, 0.0, args.quality_filter)
    matches = tuple(m for m in scored.FaceMatches if m.Similarity >= threshold)
    below = [m for m in scored.FaceMatches if m.Similarity < threshold]
    result = CompareFacesResult(scored.SourceImageFace, matches, tuple(m.Face for m in below))
    if args.json:
        output.print_json(result)
    else:
        box = result.SourceImageFace.BoundingBox
        print(f"source face: confidence {result.SourceImageFace.Confidence:.2f} at {box.Left:.3f},{box.Top:.3f}")
        rows = [
            [verdict, f"{m.Similarity:.2f}", f"{m.Face.BoundingBox.Left:.3f},{m.Face.BoundingBox.Top:.3f}"]
            for verdict, group in (("match", matches), (f"below {threshold:g}", below))
            for m in group
        ]
        print(output.table(["result", "similarity", "target face left,top"], rows) if rows else "target: no faces")
    return exits.OK if result.FaceMatches else exits.NOTHING_FOUND
