"""The `faceindex` command.

Exit codes: 0 success; 1 no face found (detect), no match (compare, search) or a face operation
that partly failed; 2 bad input or usage; 3 a model could not be prepared.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from faceindex.cli import collections as cli_collections
from faceindex.cli import output
from faceindex.cli import server as cli_server
from faceindex.cli.draw import draw_faces
from faceindex.config import Settings
from faceindex.errors import FaceIndexError, ModelError
from faceindex.models import pack
from faceindex.models.litert import mediapipe_model
from faceindex.pipeline import FaceEngine
from faceindex.service import faces as face_service
from faceindex.service.quality import FILTERS

EXIT_OK, EXIT_NO_FACE, EXIT_BAD_INPUT, EXIT_MODEL = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faceindex", description="Self-hosted face detection and comparison.")
    commands = parser.add_subparsers(dest="command", required=True)

    detect = commands.add_parser("detect", help="find and analyse the faces in images")
    detect.add_argument("images", nargs="+", type=Path)
    detect.add_argument("--json", action="store_true", help="print Rekognition-shaped JSON")
    detect.add_argument("--attributes", choices=["DEFAULT", "ALL"], default="DEFAULT")
    detect.add_argument("--draw", type=Path, help="write the (first) image with boxes and landmarks")

    compare = commands.add_parser("compare", help="compare the largest face of SOURCE with the faces of TARGET")
    compare.add_argument("source", type=Path)
    compare.add_argument("target", type=Path)
    compare.add_argument("--threshold", type=float, default=80.0, help="similarity threshold 0-100 (default 80)")
    compare.add_argument(
        "--quality-filter",
        choices=FILTERS,
        default="NONE",
        help="leave out faces below this quality bar (default NONE, as Rekognition)",
    )
    compare.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="the model pack")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    models_commands.add_parser("info", help="pack, files, checksums, licences and cache folder")
    prepare = models_commands.add_parser("prepare", help="convert the models to ONNX now")
    prepare.add_argument("--force", action="store_true", help="rebuild even when the cache is valid")
    cli_collections.register(commands)
    cli_server.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command in cli_server.COMMANDS:
            return cli_server.run(args, settings)
        engine = FaceEngine(settings)
        if args.command == "detect":
            return _detect(engine, args)
        if args.command == "compare":
            return _compare(engine, args)
        if args.command in cli_collections.COMMANDS:
            return cli_collections.run(args, settings, engine)
        return _models(settings, args)
    except ModelError as exc:
        print(f"faceindex: model error: {exc.message}", file=sys.stderr)
        return EXIT_MODEL
    except FaceIndexError as exc:
        print(f"faceindex: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _detect(engine: FaceEngine, args: argparse.Namespace) -> int:
    results: list[dict[str, object]] = []
    failures = 0
    found = 0
    images: list[Path] = args.images
    for index, path in enumerate(tqdm(images, desc="detect", unit="image", disable=len(images) < 2, file=sys.stderr)):
        try:
            decoded = engine.decode(path)
            faces = [face.detail for face in engine.analyze(decoded, [args.attributes], embed=False)]
        except FaceIndexError as exc:
            if isinstance(exc, ModelError):
                raise
            failures += 1
            results.append({"Image": str(path), "Error": {"Code": exc.code, "Message": exc.message}})
            if not args.json:
                tqdm.write(f"{path}: {exc.code}: {exc.message}", file=sys.stderr)
            continue
        found += len(faces)
        if args.draw and index == 0:
            draw_faces(decoded.pixels, faces, args.draw)
        results.append({"Image": str(path), "FaceDetails": faces})
        if not args.json:
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({decoded.width}x{decoded.height})")
            if faces:
                print(output.table(output.FACE_HEADERS, [output.face_row(i, f) for i, f in enumerate(faces)]))
    if args.json:
        output.print_json(results[0] if len(results) == 1 else results)
    if failures == len(images):
        return EXIT_BAD_INPUT
    return EXIT_OK if found else EXIT_NO_FACE


def _compare(engine: FaceEngine, args: argparse.Namespace) -> int:
    result = face_service.compare_faces(engine, args.source, args.target, args.threshold, args.quality_filter)
    if args.json:
        output.print_json(result)
    else:
        print(f"source face: confidence {result.SourceImageFace.Confidence:.2f}")
        rows = [
            ["match", f"{m.Similarity:.2f}", f"{m.Face.BoundingBox.Left:.3f},{m.Face.BoundingBox.Top:.3f}"]
            for m in result.FaceMatches
        ]
        rows += [
            ["-", "<" + f"{args.threshold:g}", f"{f.BoundingBox.Left:.3f},{f.BoundingBox.Top:.3f}"]
            for f in result.UnmatchedFaces
        ]
        print(output.table(["result", "similarity", "target face left,top"], rows))
    return EXIT_OK if result.FaceMatches else EXIT_NO_FACE


def _models(settings: Settings, args: argparse.Namespace) -> int:
    prepared = pack.prepare(settings.model_cache, force=getattr(args, "force", False))
    manifest = prepared.manifest
    print(f"pack: {manifest['pack']} (converter v{manifest['converter_version']})")
    print(f"cache: {prepared.directory}")
    rows = [
        [role, Path(entry["file"]).name, entry["sha256"][:16], str(entry["size"]), entry["licence"]]
        for role, entry in manifest["sources"].items()
    ]
    rows += [
        [f"{role} (onnx)", entry["file"], entry["sha256"][:16], "", "built here"]
        for role, entry in manifest["onnx"].items()
    ]
    for role, file_name in (("blazeface", "face_detection_full_range.tflite"), ("facemesh", "face_landmark.tflite")):
        try:
            path = mediapipe_model(file_name)
            rows.append([role, path.name, pack.sha256(path)[:16], str(path.stat().st_size), "Apache-2.0 (MediaPipe)"])
        except (ModelError, OSError):
            rows.append([role, "-", "-", "-", "missing or damaged: reinstall faceindex"])
    print(output.table(["model", "file", "sha256", "bytes", "licence"], rows))
    print(f"detector: {settings.detector} (upsample {settings.detector_upsample}); landmarks: {settings.landmarks}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
