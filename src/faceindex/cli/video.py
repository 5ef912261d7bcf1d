"""`faceindex video detect|search FILE|s3://bucket/key`: a stored-video job run in this process, through
the service door (StartFaceDetection / StartFaceSearch, then Get* page by page), with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from faceindex.cli import exits, output
from faceindex.cli.door import call
from faceindex.config import Settings
from faceindex.pipeline import FaceEngine
from faceindex.service import jobs
from faceindex.service.container import open_services

COMMANDS = ("video",)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    video = commands.add_parser("video", help="find or search faces in a stored video (a job run here)")
    actions = video.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    for name, what in (
        ("detect", "every face at 5 frames a second ([video] fps), with its timestamp"),
        ("search", "each person followed through the video, matched against a collection"),
    ):
        parser = actions.add_parser(name, help=what)
        parser.add_argument("video", metavar="FILE", help="a video file (MP4, MOV, AVI) or s3://bucket/key")
        parser.add_argument("--json", action="store_true", help="print Rekognition's Get* answer (every page) as JSON")
        if name == "search":
            parser.add_argument("--collection", required=True, help="the collection to search")
            parser.add_argument("--threshold", type=float, help="FaceMatchThreshold 0-100 (default 80)")
        else:
            parser.add_argument("--all", action="store_true", help="FaceAttributes ALL (eyes and mouth open)")


def video_member(text: str) -> dict[str, Any]:
    """Rekognition's Video: s3://bucket/key is an S3Object; anything else a local file (the CLI's Path)."""
    if text.startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
        return {"S3Object": {"Bucket": bucket, "Name": key}}
    return {"Path": str(Path(text).resolve())}


def run(args: argparse.Namespace, settings: Settings, engine: FaceEngine) -> int:
    services = open_services(settings, engine)
    try:
        search = args.action == "search"
        start: dict[str, Any] = {"Video": video_member(args.video)}
        if search:
            start |= {"CollectionId": args.collection, "FaceMatchThreshold": args.threshold}
        elif args.all:
            start["FaceAttributes"] = "ALL"
        job_id = call(services, "StartFaceSearch" if search else "StartFaceDetection", start)["JobId"]
        with tqdm(
            total=1.0, desc="video", unit="s", file=sys.stderr, disable=args.json and not sys.stderr.isatty()
        ) as bar:

            def progress(reached_ms: int, duration_ms: int) -> None:
                bar.total = round(duration_ms / 1000, 1)
                bar.n = round(reached_ms / 1000, 1)
                bar.refresh()

            if jobs.run_one(services, job_id, progress) not in ("SUCCEEDED", "FAILED"):
                _wait(services, job_id)  # a server on this data folder took the job first: it runs it
            bar.n = bar.total  # the last sample is up to 1/fps before the end
            bar.refresh()
        answer = _every_page(services, "GetFaceSearch" if search else "GetFaceDetection", job_id)
    finally:
        services.close()
    if answer["JobStatus"] != "SUCCEEDED":
        print(f"faceindex: the video job {answer['JobStatus']}: {answer.get('StatusMessage', '')}", file=sys.stderr)
        return exits.BAD_INPUT
    member = "Persons" if search else "Faces"
    if args.json:
        output.print_json(answer)
    else:
        _print(answer, search)
    found = answer[member] if not search else [p for p in answer[member] if p["FaceMatches"]]
    return exits.OK if found else exits.NOTHING_FOUND


def _wait(services: Any, job_id: str) -> None:
    while (job := services.store.job(job_id)) is not None and job.status == "IN_PROGRESS":
        time.sleep(0.5)


def _every_page(services: Any, operation: str, job_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = call(services, operation, {"JobId": job_id})
    member = "Persons" if operation == "GetFaceSearch" else "Faces"
    while answer.get("NextToken"):
        page = call(services, operation, {"JobId": job_id, "NextToken": answer.pop("NextToken")})
        answer[member] += page[member]
        answer["NextToken"] = page.get("NextToken")
    answer.pop("NextToken", None)
    return answer


def _print(answer: dict[str, Any], search: bool) -> None:
    meta = answer.get("VideoMetadata", {})
    print(
        f"{meta.get('FrameWidth')}x{meta.get('FrameHeight')} {meta.get('Codec')}, {meta.get('DurationMillis')} ms, "
        f"{meta.get('FrameRate', 0):.3f} fps"
    )
    if not search:
        rows = [
            [str(f["Timestamp"]), _box(f["Face"]["BoundingBox"]), f"{f['Face']['Confidence']:.1f}"]
            for f in answer["Faces"]
        ]
        print(output.table(["ms", "box (left, top, width, height)", "confidence"], rows))
        return
    persons: dict[int, list[dict[str, Any]]] = {}
    for entry in answer["Persons"]:
        persons.setdefault(entry["Person"]["Index"], []).append(entry)
    rows = []
    for index, entries in sorted(persons.items()):
        matches = entries[0]["FaceMatches"]
        best = matches[0] if matches else None
        who = (best["Face"].get("ExternalImageId") or best["Face"]["FaceId"]) if best else "-"
        similarity = f"{best['Similarity']:.1f}" if best else "-"
        rows.append(
            [
                str(index),
                str(entries[0]["Timestamp"]),
                str(entries[-1]["Timestamp"]),
                str(len(entries)),
                who,
                similarity,
            ]
        )
    print(output.table(["person", "first ms", "last ms", "frames", "match", "similarity"], rows))


def _box(box: dict[str, float]) -> str:
    return f"{box['Left']:.3f}, {box['Top']:.3f}, {box['Width']:.3f}, {box['Height']:.3f}"
