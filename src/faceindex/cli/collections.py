"""`faceindex collection|index|search|faces|users`: collections from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from faceindex.cli import door, exits, governance, indexer, output
from faceindex.cli import users as cli_users
from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from faceindex.pipeline import FaceEngine
from faceindex.service import search
from faceindex.service.container import Services, open_services

COMMANDS = ("collection", "index", "search", "faces", "users")
JSON_HELP = "print Rekognition's answer as JSON"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    collection = commands.add_parser("collection", help="create, list, describe or delete collections")
    actions = collection.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    for name, what in (("create", "make an empty collection"), ("describe", "faces, users, model and creation time")):
        parser = actions.add_parser(name, help=what)
        parser.add_argument("name", help="the collection id")
        parser.add_argument("--json", action="store_true", help=JSON_HELP)
    delete = actions.add_parser("delete", help="delete a collection with all its faces and users")
    delete.add_argument("name", help="the collection id")
    listing = actions.add_parser("list", help="every collection")
    listing.add_argument("--json", action="store_true", help="print CollectionIds and FaceModelVersions, every page")
    governance.register_policy(actions)

    indexer.register(commands)

    find = commands.add_parser("search", help="search a collection by image or by face id")
    find.add_argument("image", nargs="?", type=Path, help="image whose largest face is searched")
    find.add_argument("--collection", required=True, help="the collection")
    find.add_argument("--face-id", help="search with this stored face instead of an image")
    find.add_argument("--threshold", type=float, default=80.0, help="face match threshold 0-100 (default 80)")
    find.add_argument("--max-faces", type=int, default=10, help="matches to return, best first (default 10)")
    find.add_argument("--json", action="store_true", help=JSON_HELP)

    faces = commands.add_parser("faces", help="list or delete the faces of a collection")
    face_actions = faces.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    listing = face_actions.add_parser("list", help="every face of the collection (never its descriptor)")
    listing.add_argument("--collection", required=True, help="the collection")
    listing.add_argument("--user-id", help="only this user's faces")
    listing.add_argument("--json", action="store_true", help='print {"Faces": [...]} as JSON, every page')
    delete = face_actions.add_parser("delete", help="delete faces and their descriptors for good")
    delete.add_argument("face_ids", nargs="+", metavar="FACE_ID", help="faces to delete")
    delete.add_argument("--collection", required=True, help="the collection")
    delete.add_argument("--json", action="store_true", help=JSON_HELP)

    cli_users.register(commands)


def run(args: argparse.Namespace, settings: Settings, engine: FaceEngine) -> int:
    services = open_services(settings, engine)
    try:
        handler = {
            "collection": _collection,
            "index": indexer.run,
            "search": _search,
            "faces": _faces,
            "users": cli_users.run,
        }[args.command]
        return handler(services, args)
    finally:
        services.close()


def _collection(services: Services, args: argparse.Namespace) -> int:
    if args.action == "policy":
        return governance.policy(services, args)
    if args.action == "create":
        created = door.call(services, "CreateCollection", {"CollectionId": args.name})
        if args.json:
            output.print_json(created)
        else:
            print(f"created collection {args.name} (face model {created.FaceModelVersion}, {created.CollectionArn})")
    elif args.action == "describe":
        described = door.call(services, "DescribeCollection", {"CollectionId": args.name})
        if args.json:
            output.print_json(described)
        else:
            rows = [
                ["faces", str(described.FaceCount)],
                ["users", str(described.UserCount)],
                ["face model", described.FaceModelVersion],
                ["created (UTC)", output.iso_time(described.CreationTimestamp)],
                ["arn", described.CollectionARN],
            ]
            print(output.table(["collection", args.name], rows))
    elif args.action == "delete":
        door.call(services, "DeleteCollection", {"CollectionId": args.name})
        print(f"deleted collection {args.name} with all its faces and users")
    else:
        _list_collections(services, args)
    return exits.OK


def _list_collections(services: Services, args: argparse.Namespace) -> None:
    names: list[str] = []
    versions: list[str] = []
    token = None
    while True:
        page = door.call(services, "ListCollections", {"NextToken": token})
        names += page.CollectionIds
        versions += page.FaceModelVersions
        token = page.NextToken
        if token is None:
            break
    if args.json:
        output.print_json({"CollectionIds": names, "FaceModelVersions": versions})
    else:
        for name in names:
            print(name)


def _search(services: Services, args: argparse.Namespace) -> int:
    result: search.SearchFacesResult | search.SearchFacesByImageResult
    if (args.face_id is None) == (args.image is None):
        raise InvalidParameter("give exactly one of IMAGE and --face-id")
    if args.face_id:
        params = {"FaceId": args.face_id}
        operation = "SearchFaces"
    else:
        params, operation = {"Image": {"Path": args.image}}, "SearchFacesByImage"
    wanted = {"CollectionId": args.collection, "MaxFaces": args.max_faces, "FaceMatchThreshold": args.threshold}
    result = door.call(services, operation, {**params, **wanted})
    if args.json:
        output.print_json(result)
    elif result.FaceMatches:
        rows = [
            [
                f"{m.Similarity:.2f}",
                output.rate(m.FalseMatchRate),
                m.Face.FaceId,
                m.Face.ExternalImageId or "-",
                m.Face.UserId or "-",
            ]
            for m in result.FaceMatches
        ]
        print(output.table(["similarity", "false match", "face id", "external image id", "user"], rows))
    else:
        print(f"no face at similarity >= {args.threshold:g}")
    return exits.OK if result.FaceMatches else exits.NOTHING_FOUND


def _faces(services: Services, args: argparse.Namespace) -> int:
    if args.action == "delete":
        return _delete_faces(services, args)
    token: str | None = None
    faces: list[search.FaceMatchFace] = []
    while True:
        page = door.call(
            services, "ListFaces", {"CollectionId": args.collection, "NextToken": token, "UserId": args.user_id}
        )
        faces += page.Faces
        token = page.NextToken
        if token is None:
            break
    if args.json:
        output.print_json({"Faces": faces})
    else:
        rows = [[f.FaceId, f.ExternalImageId or "-", f.UserId or "-", f"{f.Confidence:.2f}"] for f in faces]
        print(output.table(["face id", "external image id", "user", "confidence"], rows))
    return exits.OK


def _delete_faces(services: Services, args: argparse.Namespace) -> int:
    result = door.call(services, "DeleteFaces", {"CollectionId": args.collection, "FaceIds": args.face_ids})
    if args.json:
        output.print_json(result)
    else:
        print(f"deleted {output.plural(len(result.DeletedFaces), 'face')} for good")
        if result.UnsuccessfulFaceDeletions:
            rows = [[f.FaceId, ",".join(f.Reasons), f.UserId or "-"] for f in result.UnsuccessfulFaceDeletions]
            print(output.table(["face not deleted", "reasons", "user"], rows))
    return exits.NOTHING_FOUND if result.UnsuccessfulFaceDeletions else exits.OK
