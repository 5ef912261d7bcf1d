"""`faceindex collection|index|search|faces|users`: collections from the command line."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from faceindex.cli import output
from faceindex.config import Settings
from faceindex.errors import FaceIndexError, ModelError
from faceindex.pipeline import FaceEngine
from faceindex.service import collections, indexing, search, users
from faceindex.service.container import Services, open_services

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ppm"}
COMMANDS = ("collection", "index", "search", "faces", "users")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    collection = commands.add_parser("collection", help="create, list, describe or delete collections")
    actions = collection.add_subparsers(dest="action", required=True)
    for name in ("create", "describe", "delete"):
        actions.add_parser(name).add_argument("name")
    actions.add_parser("list")

    index = commands.add_parser("index", help="index the faces of images and folders into a collection")
    index.add_argument("paths", nargs="+", type=Path)
    index.add_argument("--collection", required=True)
    index.add_argument("--max-faces", type=int, help="per image, keeping the largest (1-100)")
    index.add_argument("--quality-filter", choices=["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"], default="AUTO")
    index.add_argument("--json", action="store_true", help="one JSON line per image, written as it is indexed")

    find = commands.add_parser("search", help="search a collection by image or by face id")
    find.add_argument("image", nargs="?", type=Path)
    find.add_argument("--collection", required=True)
    find.add_argument("--face-id")
    find.add_argument("--threshold", type=float, default=80.0)
    find.add_argument("--max-faces", type=int, default=10)
    find.add_argument("--json", action="store_true")

    faces = commands.add_parser("faces", help="list or delete the faces of a collection")
    face_actions = faces.add_subparsers(dest="action", required=True)
    listing = face_actions.add_parser("list")
    listing.add_argument("--collection", required=True)
    listing.add_argument("--user-id")
    listing.add_argument("--json", action="store_true")
    delete = face_actions.add_parser("delete")
    delete.add_argument("face_ids", nargs="+")
    delete.add_argument("--collection", required=True)

    people = commands.add_parser("users", help="group a person's faces under a user id")
    user_actions = people.add_subparsers(dest="action", required=True)
    for name in ("create", "delete"):
        parser = user_actions.add_parser(name)
        parser.add_argument("user_id")
        parser.add_argument("--collection", required=True)
    user_list = user_actions.add_parser("list")
    user_list.add_argument("--collection", required=True)
    for name in ("associate", "disassociate"):
        parser = user_actions.add_parser(name)
        parser.add_argument("user_id")
        parser.add_argument("face_ids", nargs="+")
        parser.add_argument("--collection", required=True)
    user_search = user_actions.add_parser("search")
    user_search.add_argument("image", nargs="?", type=Path)
    user_search.add_argument("--collection", required=True)
    user_search.add_argument("--user-id")
    user_search.add_argument("--face-id")
    user_search.add_argument("--threshold", type=float, default=80.0)


def run(args: argparse.Namespace, settings: Settings, engine: FaceEngine) -> int:
    services = open_services(settings, engine)
    try:
        handler = {
            "collection": _collection,
            "index": _index,
            "search": _search,
            "faces": _faces,
            "users": _users,
        }[args.command]
        return handler(services, args)
    finally:
        services.close()


def _collection(services: Services, args: argparse.Namespace) -> int:
    if args.action == "create":
        output.print_json(collections.create_collection(services, args.name))
    elif args.action == "describe":
        output.print_json(collections.describe_collection(services, args.name))
    elif args.action == "delete":
        collections.delete_collection(services, args.name)
        print(f"deleted collection {args.name} with all its faces and users")
    else:
        token = None
        while True:
            page = collections.list_collections(services, next_token=token)
            for name in page.CollectionIds:
                print(name)
            token = page.NextToken
            if token is None:
                break
    return 0


def image_files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """(file, ExternalImageId): a file's name, or its path inside a folder given, '/' written ':'."""
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
                yield file, external_id_for(file.relative_to(path).as_posix())
        else:
            yield path, external_id_for(path.name)


def external_id_for(name: str) -> str:
    """Characters Rekognition refuses in an ExternalImageId become '_'."""
    return re.sub(r"[^a-zA-Z0-9_.\-:]", "_", name.replace("/", ":"))[-255:] or "image"


def _index(services: Services, args: argparse.Namespace) -> int:
    collections.open_collection(services, args.collection)  # fail before reading any file
    files = list(image_files(args.paths))
    reasons: dict[str, int] = {}
    totals = {"images": 0, "skipped": 0, "failed": 0, "faces": 0}

    def one(item: tuple[Path, str]) -> tuple[Path, indexing.IndexFacesResult | str | None]:
        path, external_id = item
        try:
            data = path.read_bytes()
        except OSError as exc:
            return path, f"cannot read: {exc.strerror}"
        digest = hashlib.sha256(data).hexdigest()
        if services.store.image_indexed(services.store.collection(args.collection), digest):
            return path, None  # indexed by an earlier run
        try:
            return path, indexing.index_faces(
                services,
                args.collection,
                path,
                external_id,
                args.max_faces,
                args.quality_filter,
                sha256=digest,
            )
        except ModelError:
            raise
        except FaceIndexError as exc:
            return path, f"{exc.code}: {exc.message}"

    progress = tqdm(total=len(files), desc="index", unit="image", file=sys.stderr, disable=len(files) < 2)
    # two images in flight: decoding, landmarks and SQLite overlap with inference on the other core
    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, result in pool.map(one, files):
            progress.update()
            if result is None:
                totals["skipped"] += 1
                continue
            if isinstance(result, str):
                totals["failed"] += 1
                tqdm.write(f"{path}: {result}", file=sys.stderr)
                continue
            totals["images"] += 1
            totals["faces"] += len(result.FaceRecords)
            for face in result.UnindexedFaces:
                for reason in face.Reasons:
                    reasons[reason] = reasons.get(reason, 0) + 1
            face_ids = [r.Face.FaceId for r in result.FaceRecords]
            if args.json:
                line = {"Image": str(path), "FaceIds": face_ids, "Unindexed": len(result.UnindexedFaces)}
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()
    progress.close()
    summary = (
        f"indexed {totals['faces']} faces from {totals['images']} images; {totals['skipped']} already indexed, "
        f"{totals['failed']} failed"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    if reasons:
        detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        print(f"faces not indexed: {detail}", file=sys.stderr if args.json else sys.stdout)
    return 0 if totals["failed"] == 0 else 2


def _search(services: Services, args: argparse.Namespace) -> int:
    result: search.SearchFacesResult | search.SearchFacesByImageResult
    if args.face_id:
        result = search.search_faces(services, args.collection, args.face_id, args.max_faces, args.threshold)
    elif args.image:
        result = search.search_faces_by_image(services, args.collection, args.image, args.max_faces, args.threshold)
    else:
        print("faceindex search: give an IMAGE or --face-id", file=sys.stderr)
        return 2
    if args.json:
        output.print_json(result)
    else:
        rows = [
            [f"{m.Similarity:.2f}", m.Face.FaceId, m.Face.ExternalImageId or "-", m.Face.UserId or "-"]
            for m in result.FaceMatches
        ]
        print(output.table(["similarity", "face id", "external image id", "user"], rows))
    return 0 if result.FaceMatches else 1


def _faces(services: Services, args: argparse.Namespace) -> int:
    if args.action == "delete":
        result = search.delete_faces(services, args.collection, args.face_ids)
        output.print_json(result)
        return 0 if not result.UnsuccessfulFaceDeletions else 1
    token: str | None = None
    faces: list[search.FaceMatchFace] = []
    while True:
        page = search.list_faces(services, args.collection, next_token=token, user_id=args.user_id)
        faces += page.Faces
        token = page.NextToken
        if token is None:
            break
    if args.json:
        output.print_json({"Faces": faces})
    else:
        rows = [[f.FaceId, f.ExternalImageId or "-", f.UserId or "-", f"{f.Confidence:.2f}"] for f in faces]
        print(output.table(["face id", "external image id", "user", "confidence"], rows))
    return 0


def _users(services: Services, args: argparse.Namespace) -> int:
    if args.action == "create":
        users.create_user(services, args.collection, args.user_id)
    elif args.action == "delete":
        users.delete_user(services, args.collection, args.user_id)
    elif args.action == "list":
        for user in users.list_users(services, args.collection, max_results=500).Users:
            print(user.UserId)
    elif args.action == "associate":
        output.print_json(users.associate_faces(services, args.collection, args.user_id, args.face_ids))
    elif args.action == "disassociate":
        output.print_json(users.disassociate_faces(services, args.collection, args.user_id, args.face_ids))
    else:
        if args.image:
            output.print_json(users.search_users_by_image(services, args.collection, args.image, args.threshold))
        else:
            output.print_json(users.search_users(services, args.collection, args.user_id, args.face_id, args.threshold))
    return 0
