"""`faceindex index`: the faces of photos and folders into a collection, resumable, two photos in flight.

A photo is skipped only while at least one of its faces is stored (matched by content hash): a photo
that gave no face is read again by the next run, and `--force` reads every photo again."""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from faceindex.cli import door, exits, output
from faceindex.cli.files import external_id_for, image_files
from faceindex.errors import FaceIndexError, InvalidParameter, ModelError
from faceindex.service import collections
from faceindex.service.container import Services
from faceindex.service.quality import FILTERS

INDEXED, NO_FACE, SKIPPED, FAILED = "INDEXED", "NO_FACE", "SKIPPED", "FAILED"
NAMED_IN_SUMMARY = 20  # photos named by the summary line; --json lists every one


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    index = commands.add_parser("index", help="index the faces of images and folders into a collection")
    index.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="image files or folders (recursed); a face's ExternalImageId is the file's path inside the"
        " folder, '/' written ':'",
    )
    index.add_argument("--collection", required=True, help="the collection (made with `collection create`)")
    index.add_argument("--max-faces", type=int, help="faces kept per image, the largest first (1-100; default 100)")
    index.add_argument(
        "--quality-filter",
        choices=FILTERS,
        default="AUTO",
        help="leave out faces below this quality bar (default AUTO, as Rekognition's IndexFaces)",
    )
    index.add_argument(
        "--force",
        action="store_true",
        help="read every photo again, even one whose faces are stored (its faces are then stored again:"
        " `faces delete` the old ones to keep one copy)",
    )
    index.add_argument(
        "--json",
        action="store_true",
        help="one JSON line per photo as it is done, with Status INDEXED, NO_FACE, SKIPPED (faces already"
        " stored) or FAILED (with Error.Code); the summary goes to stderr",
    )


@dataclass
class Outcome:
    """What became of one photo."""

    path: Path
    external_id: str
    status: str
    face_ids: list[str] = field(default_factory=list)
    left_out: list[tuple[str, ...]] = field(default_factory=list)  # reasons of each face found but not stored
    error: FaceIndexError | None = None

    def line(self) -> dict[str, object]:
        body: dict[str, object] = {
            "Image": str(self.path),
            "ExternalImageId": self.external_id,
            "Status": self.status,
            "FaceIds": self.face_ids,
        }
        if self.left_out:
            body["UnindexedFaces"] = [{"Reasons": list(reasons)} for reasons in self.left_out]
        if self.error is not None:
            body["Error"] = {"Code": self.error.code, "Message": self.error.message}
        return body


def run(services: Services, args: argparse.Namespace) -> int:
    collection = collections.open_collection(services, args.collection)  # fail before reading any file
    files = list(image_files(args.paths))
    if not files:
        raise InvalidParameter(f"no image files in {', '.join(str(p) for p in args.paths)}")

    def one(item: tuple[Path, str]) -> Outcome:
        path, name = item
        outcome = Outcome(path, external_id_for(name), FAILED)
        try:
            data = path.read_bytes()
        except OSError as exc:
            outcome.error = InvalidParameter(f"cannot read {path}: {exc.strerror}")
            return outcome
        digest = hashlib.sha256(data).hexdigest()
        if not args.force and services.store.image_indexed(collection, digest):
            outcome.status = SKIPPED  # its faces are stored, from an earlier run
            return outcome
        try:
            params = {
                "CollectionId": args.collection,
                "Image": {"Bytes": data},
                "ExternalImageId": outcome.external_id,
                "MaxFaces": args.max_faces,
                "QualityFilter": args.quality_filter,
                "ImageSha256": digest,  # the CLI's own member: the content hash it skips re-runs by
            }
            result = door.call(services, "IndexFaces", params)
        except ModelError:
            raise
        except FaceIndexError as exc:
            outcome.error = exc
            return outcome
        outcome.face_ids = [record.Face.FaceId for record in result.FaceRecords]
        outcome.left_out = [face.Reasons for face in result.UnindexedFaces]
        outcome.status = INDEXED if outcome.face_ids else NO_FACE
        return outcome

    outcomes = _each(files, one, args.json)
    _summary(outcomes, sys.stderr if args.json else sys.stdout)
    counts = Counter(o.status for o in outcomes)
    if counts[FAILED]:
        return exits.BAD_INPUT
    return exits.NOTHING_FOUND if counts[NO_FACE] and not counts[INDEXED] else exits.OK


def _each(files: list[tuple[Path, str]], one: Callable[[tuple[Path, str]], Outcome], as_json: bool) -> list[Outcome]:
    outcomes = []
    progress = tqdm(total=len(files), desc="index", unit="image", file=sys.stderr, disable=len(files) < 2)
    # two photos in flight: decoding, landmarks and SQLite overlap with inference on the other core
    with ThreadPoolExecutor(max_workers=2) as pool:
        for outcome in pool.map(one, files):
            outcomes.append(outcome)
            progress.update()
            if as_json:
                output.json_line(outcome.line())
            if outcome.error is not None:
                output.say(f"faceindex: {outcome.path}: {outcome.error.code}: {outcome.error.message}", sys.stderr)
    progress.close()
    return outcomes


def _summary(outcomes: list[Outcome], stream: TextIO) -> None:
    by_status: dict[str, list[Outcome]] = {status: [] for status in (INDEXED, NO_FACE, SKIPPED, FAILED)}
    for outcome in outcomes:
        by_status[outcome.status].append(outcome)
    faces = sum(len(o.face_ids) for o in by_status[INDEXED])
    lines = [
        f"indexed {output.plural(faces, 'face')} from {output.plural(len(by_status[INDEXED]), 'photo')}; "
        f"{len(by_status[SKIPPED])} skipped (faces already stored), {len(by_status[FAILED])} failed"
    ]
    empty = by_status[NO_FACE]
    if empty:
        none_found = sum(1 for o in empty if not o.left_out)
        names = ", ".join(str(o.path) for o in empty[:NAMED_IN_SUMMARY])
        more = f" and {len(empty) - NAMED_IN_SUMMARY} more (--json lists each)" if len(empty) > NAMED_IN_SUMMARY else ""
        lines.append(
            f"no face indexed from {output.plural(len(empty), 'photo')} ({none_found} with no face found,"
            f" {len(empty) - none_found} whose faces were all left out): {names}{more}"
        )
    reasons = Counter(reason for o in outcomes for face in o.left_out for reason in face)
    if reasons:
        detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        lines.append(f"faces left out: {detail} (--quality-filter NONE and --max-faces 100 keep every face)")
    print("\n".join(lines), file=stream)
