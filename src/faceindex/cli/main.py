"""The `faceindex` command: one parser, one module per command group, exit codes from `cli.exits`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from faceindex.cli import collections as cli_collections
from faceindex.cli import detect as cli_detect
from faceindex.cli import evaluate as cli_evaluate
from faceindex.cli import exits, governance, output
from faceindex.cli import server as cli_server
from faceindex.cli import video as cli_video
from faceindex.config import Settings
from faceindex.errors import FaceIndexError, ModelError
from faceindex.models import pack
from faceindex.models.litert import mediapipe_model
from faceindex.pipeline import FaceEngine


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceindex",
        description="Self-hosted face detection, comparison and search with Amazon Rekognition's semantics.",
        epilog=exits.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}", help="print the version")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="one of:")
    cli_detect.register(commands)

    models = commands.add_parser("models", help="the model pack: what is used, and converting it ahead of time")
    models_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION", help="one of:")
    models_commands.add_parser("info", help="pack, files, checksums, licences and cache folder")
    prepare = models_commands.add_parser("prepare", help="convert the models to ONNX now")
    prepare.add_argument("--force", action="store_true", help="rebuild even when the cache is valid")
    cli_collections.register(commands)
    cli_evaluate.register(commands)
    cli_server.register(commands)
    governance.register(commands)
    cli_video.register(commands)
    return parser


def _version() -> str:
    try:
        return version("faceindex")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command in cli_server.COMMANDS:
            return cli_server.run(args, settings)
        if args.command in governance.COMMANDS:
            return governance.run(args, settings)
        engine = FaceEngine(settings)
        if args.command in cli_detect.COMMANDS:
            return cli_detect.run(engine, args)
        if args.command in cli_collections.COMMANDS:
            return cli_collections.run(args, settings, engine)
        if args.command in cli_evaluate.COMMANDS:
            return cli_evaluate.run(engine, args)
        if args.command in cli_video.COMMANDS:
            return cli_video.run(args, settings, engine)
        return _models(settings, args)
    except ModelError as exc:
        print(f"faceindex: model error: {exc.message}", file=sys.stderr)
        return exits.MODEL
    except FaceIndexError as exc:
        print(f"faceindex: {exc.code}: {exc.message}", file=sys.stderr)
        return exits.BAD_INPUT
    except KeyboardInterrupt:
        return exits.INTERRUPTED


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
    return exits.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
