"""`faceindex users create|delete|list|associate|disassociate|search`: a person's faces under one user id."""

from __future__ import annotations

import argparse
from pathlib import Path

from faceindex.cli import door, exits, output
from faceindex.errors import InvalidParameter
from faceindex.service import users
from faceindex.service.container import Services

JSON_HELP = "print Rekognition's answer as JSON"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    people = commands.add_parser("users", help="group a person's faces under a user id, and search by user")
    actions = people.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    for name, what in (("create", "make a user with no faces"), ("delete", "delete a user (its faces stay)")):
        parser = actions.add_parser(name, help=what)
        parser.add_argument("user_id", help="the user id")
        _collection(parser)
        _token(parser)
    listing = actions.add_parser("list", help="every user of the collection")
    _collection(listing)
    listing.add_argument("--json", action="store_true", help='print {"Users": [...]} as JSON, every page')
    for name, what in (("associate", "give faces to a user"), ("disassociate", "take faces from a user")):
        parser = actions.add_parser(name, help=what)
        parser.add_argument("user_id", help="the user id")
        parser.add_argument("face_ids", nargs="+", metavar="FACE_ID", help="faces of the collection")
        _collection(parser)
        _token(parser)
        parser.add_argument("--json", action="store_true", help=JSON_HELP)
    find = actions.add_parser("search", help="users like the face of an image, of a stored face or of a user")
    find.add_argument("image", nargs="?", type=Path, help="image whose largest face is searched")
    _collection(find)
    find.add_argument("--user-id", help="search with this user's faces instead of an image")
    find.add_argument("--face-id", help="search with this stored face instead of an image")
    find.add_argument("--threshold", type=float, default=80.0, help="user match threshold 0-100 (default 80)")
    find.add_argument("--json", action="store_true", help=JSON_HELP)


def _collection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--collection", required=True, help="the collection")


def _token(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client-request-token", help="a script's retry with the same token answers as the first run did"
    )


def run(services: Services, args: argparse.Namespace) -> int:
    if args.action == "create":
        door.call(services, "CreateUser", {**_user(args), "ClientRequestToken": args.client_request_token})
        print(f"created user {args.user_id} in collection {args.collection}")
    elif args.action == "delete":
        door.call(services, "DeleteUser", {**_user(args), "ClientRequestToken": args.client_request_token})
        print(f"deleted user {args.user_id}; its faces stay in collection {args.collection}, with no user")
    elif args.action == "list":
        _list(services, args)
    elif args.action in ("associate", "disassociate"):
        return _associate(services, args)
    else:
        return _search(services, args)
    return exits.OK


def _list(services: Services, args: argparse.Namespace) -> None:
    found: list[users.User] = []
    token: str | None = None
    while True:  # every page: a collection may hold millions of users
        page = door.call(
            services, "ListUsers", {"CollectionId": args.collection, "MaxResults": 500, "NextToken": token}
        )
        found += page.Users
        token = page.NextToken
        if token is None:
            break
    if args.json:
        output.print_json({"Users": found})
    else:
        for user in found:
            print(user.UserId)


def _associate(services: Services, args: argparse.Namespace) -> int:
    members = {**_user(args), "FaceIds": args.face_ids, "ClientRequestToken": args.client_request_token}
    if args.action == "associate":
        associated: users.AssociateFacesResult = door.call(services, "AssociateFaces", members)
        result: object = associated
        moved, failed, done = associated.AssociatedFaces, associated.UnsuccessfulFaceAssociations, "associated with"
    else:
        gone: users.DisassociateFacesResult = door.call(services, "DisassociateFaces", members)
        result = gone
        moved, failed, done = gone.DisassociatedFaces, gone.UnsuccessfulFaceDisassociations, "disassociated from"
    if args.json:
        output.print_json(result)
    else:
        print(f"{output.plural(len(moved), 'face')} {done} {args.user_id}")
        if failed:
            rows = [
                [f.FaceId, ",".join(f.Reasons), f.UserId or "-", "-" if f.Confidence is None else f"{f.Confidence:.2f}"]
                for f in failed
            ]
            print(output.table(["face left as it was", "reasons", "user", "similarity"], rows))
    return exits.NOTHING_FOUND if failed else exits.OK


def _search(services: Services, args: argparse.Namespace) -> int:
    given = [
        name
        for name, value in (("IMAGE", args.image), ("--user-id", args.user_id), ("--face-id", args.face_id))
        if value
    ]
    if len(given) != 1:
        raise InvalidParameter(f"give exactly one of IMAGE, --user-id and --face-id (got {', '.join(given) or 'none'})")
    result: users.SearchUsersResult | users.SearchUsersByImageResult
    if args.image:
        params: dict[str, object] = {"Image": {"Path": args.image}}
        operation = "SearchUsersByImage"
    else:
        params, operation = {"UserId": args.user_id, "FaceId": args.face_id}, "SearchUsers"
    wanted = {"CollectionId": args.collection, "UserMatchThreshold": args.threshold}
    result = door.call(services, operation, {**params, **wanted})
    if args.json:
        output.print_json(result)
    else:
        if isinstance(result, users.SearchUsersByImageResult):
            box = result.SearchedFace.FaceDetail.BoundingBox
            others = (
                f"; {output.plural(len(result.UnsearchedFaces), 'other face')} not searched"
                if result.UnsearchedFaces
                else ""
            )
            print(f"searched the largest face, at {box.Left:.3f},{box.Top:.3f}{others}")
        rows = [
            [f"{m.Similarity:.2f}", output.rate(m.FalseMatchRate), m.User.UserId, m.User.UserStatus]
            for m in result.UserMatches
        ]
        print(
            output.table(["similarity", "false match", "user", "status"], rows)
            if rows
            else f"no user at similarity >= {args.threshold:g}"
        )
    return exits.OK if result.UserMatches else exits.NOTHING_FOUND


def _user(args: argparse.Namespace) -> dict[str, str]:
    return {"CollectionId": args.collection, "UserId": args.user_id}
