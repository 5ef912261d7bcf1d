"""`faceindex keys|audit|erase|retention` and `faceindex collection policy`: the safeguards from the
command line. Every change goes through the service door as the operator (`cli:<login>`), so it is
authorised and audited like a call to the server."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from faceindex.cli import exits, output
from faceindex.cli.door import call as _door
from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from faceindex.service.audit import Filters
from faceindex.service.audit_chain import TreeHead
from faceindex.service.container import Services, open_services
from faceindex.service.operations import REKOGNITION
from faceindex.service.policy import ALL_OPERATIONS, CLASSES

COMMANDS = ("keys", "audit", "erase", "retention")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_keys(commands)
    audit = commands.add_parser("audit", help="the tamper-evident audit log: verify, show, export, sign a head")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    verify = actions.add_parser("verify", help="check every entry and signed head; exit 1 naming the first bad one")
    verify.add_argument("--witness", type=Path, help="a head exported earlier (`audit head --out`), kept elsewhere")
    for name, what in (("show", "entries as a table"), ("export", "entries as JSON lines")):
        parser = actions.add_parser(name, help=what)
        parser.add_argument("--since", help="from this time (ISO 8601, UTC if no zone)")
        parser.add_argument("--until", help="before this time")
        parser.add_argument("--key", help="only this access key id (or cli:<login>)")
        parser.add_argument("--collection", help="only this collection")
        parser.add_argument("--operation", help="only this operation, e.g. SearchFacesByImage")
        if name == "export":
            parser.add_argument("--out", type=Path, help="write to this file (default: standard output)")
    head = actions.add_parser("head", help="sign a head over the log now and print it for an outside witness")
    head.add_argument("--out", type=Path, help="also write it to this file")

    erase = commands.add_parser("erase", help="erase a person's faces for good (database, WAL and index snapshots)")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--external-image-id", help="the faces indexed with this ExternalImageId")
    who.add_argument("--user-id", help="this user and every face of theirs")
    erase.add_argument("--collection", help="only in this collection (default: every collection)")
    erase.add_argument("--json", action="store_true", help="print the receipt as JSON")

    retention = commands.add_parser("retention", help="erase faces past their collection's retention period")
    retention.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:").add_parser(
        "run", help="erase them now (the server does it every hour)"
    )


def _register_keys(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = commands.add_parser("keys", help="access keys for the server")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    create = actions.add_parser("create", help="a new key; its secret is printed once")
    create.add_argument("--name", default="", help="who or what uses it")
    create.add_argument(
        "--allow",
        help=f"comma-separated permissions: {', '.join(CLASSES)} (identify = every 1:N search; default: all)",
    )
    create.add_argument("--operations", help="comma-separated operations it may call, instead of --allow")
    create.add_argument("--collections", help="comma-separated collections it is limited to (default: every one)")
    create.add_argument("--min-similarity", type=float, help="its floor under every 1:N search's threshold (0-100)")
    create.add_argument("--purpose", help="why it identifies people; recorded with each of its searches")
    create.add_argument("--json", action="store_true", help='print {"AccessKeyId", "SecretAccessKey", ...} as JSON')
    actions.add_parser("list", help="keys and their permissions (never secrets)").add_argument(
        "--json", action="store_true", help="print the keys as a JSON list (times in seconds since 1970)"
    )
    actions.add_parser("revoke", help="stop accepting a key").add_argument(
        "access_key_id", help="the key's access key id"
    )


def register_policy(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    policy = actions.add_parser("policy", help="a collection's safeguards: similarity floor, purpose, retention")
    policy.add_argument("name", help="the collection id")
    policy.add_argument("--min-similarity", type=float, help="raise every 1:N threshold below this to it (0-100)")
    purpose = policy.add_mutually_exclusive_group()
    purpose.add_argument("--require-purpose", action="store_true", default=None, help="1:N searches must state one")
    purpose.add_argument("--no-require-purpose", dest="require_purpose", action="store_false", help="they need not")
    policy.add_argument("--retention-days", type=float, help="erase faces neither indexed nor matched for this long")
    policy.add_argument("--json", action="store_true", help="print the policy as JSON")


@contextmanager
def _services(settings: Settings) -> Iterator[Services]:
    services = open_services(settings)
    try:
        yield services
    finally:
        services.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    with _services(settings) as services:
        if args.command == "keys":
            return _keys(services, args)
        if args.command == "audit":
            return _audit(services, args)
        if args.command == "erase":
            params = {
                "ExternalImageId": args.external_image_id,
                "UserId": args.user_id,
                "CollectionId": args.collection,
            }
            receipt = _door(services, "EraseFaces", params)
            if args.json:
                output.print_json(receipt)
            else:
                _print_erased(receipt)
            return exits.OK
        receipt = _door(services, "RunRetention", {})
        _print_erased(receipt)
        return exits.OK


def policy(services: Services, args: argparse.Namespace) -> int:
    changes = {
        "MinSimilarity": args.min_similarity,
        "RequirePurpose": args.require_purpose,
        "RetentionDays": args.retention_days,
    }
    changed = any(value is not None for value in changes.values())
    answer = _door(
        services,
        "PutCollectionPolicy" if changed else "DescribeCollectionPolicy",
        {"CollectionId": args.name, **changes},
    )
    if args.json:
        output.print_json(answer)
        return exits.OK
    floor, days = answer["MinSimilarity"], answer["RetentionDays"]
    print(f"collection:      {answer['CollectionId']}")
    print(f"min similarity:  {'none (the caller' + chr(39) + 's threshold)' if floor is None else f'{floor:g}'}")
    print(f"require purpose: {'yes' if answer['RequirePurpose'] else 'no'}")
    print(f"retention:       {'none (kept until deleted)' if days is None else f'{days:g} days after last use'}")
    return exits.OK


def _keys(services: Services, args: argparse.Namespace) -> int:
    if args.action == "create":
        created = _door(services, "CreateAccessKey", _key_params(args))
        if args.json:
            output.print_json(created)
        else:
            print_key(created)
    elif args.action == "list":
        records = services.store.access_keys()
        if args.json:
            output.print_json([{k: v for k, v in r.__dict__.items() if k != "secret_sealed"} for r in records])
        else:
            rows = [
                [
                    r.access_key_id,
                    r.name or "-",
                    ",".join(r.classes + r.operations),
                    ",".join(r.collections) if r.collections is not None else "all",
                    "-" if r.min_similarity is None else f"{r.min_similarity:g}",
                    output.iso_time(r.created_at),
                    "revoked" if r.revoked_at else "active",
                ]
                for r in records
            ]
            headers = ["access key id", "name", "allowed", "collections", "floor", "created (UTC)", "state"]
            print(output.table(headers, rows))
    else:
        _door(services, "RevokeAccessKey", {"AccessKeyId": args.access_key_id})
        print(f"revoked {args.access_key_id}")
    return exits.OK


def _key_params(args: argparse.Namespace) -> dict[str, Any]:
    allow, operations = _names(args.allow), _names(args.operations)
    if operations:
        unknown = [op for op in operations if op != ALL_OPERATIONS and op not in REKOGNITION]
        if unknown:
            raise InvalidParameter(
                f"unknown operations {', '.join(unknown)}; choose from {', '.join(sorted(REKOGNITION))}"
            )
    if not allow and not operations:
        allow = list(CLASSES)
    return {
        "Name": args.name,
        "Permissions": allow,
        "Operations": operations,
        "Collections": _names(args.collections) if args.collections is not None else None,
        "MinSimilarity": args.min_similarity,
        "Purpose": args.purpose,
    }


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def print_key(created: dict[str, Any]) -> None:
    print(f"access key id:     {created['AccessKeyId']}")
    print(f"secret access key: {created['SecretAccessKey']}   (shown once: keep it now)")
    print(f"allowed:           {describe_grants(created)}")


def describe_grants(created: dict[str, Any]) -> str:
    allowed = ", ".join([*created.get("Permissions", []), *created.get("Operations", [])]) or "nothing"
    if set(created.get("Permissions", [])) >= set(CLASSES):
        allowed = f"everything ({allowed})"
    if "Collections" in created:
        allowed += f"; only collections {', '.join(created['Collections'])}"
    if "MinSimilarity" in created:
        allowed += f"; 1:N thresholds at least {created['MinSimilarity']:g}"
    return allowed


def _audit(services: Services, args: argparse.Namespace) -> int:
    log = services.audit
    if args.action == "verify":
        witness = TreeHead.from_json(args.witness.read_bytes()) if args.witness else None
        verdict = log.verify(witness)
        if verdict.ok:
            print(f"audit log intact: {verdict.entries} entries, {verdict.heads} signed heads")
            return exits.OK
        at = f" (first bad entry: {verdict.first_bad})" if verdict.first_bad is not None else ""
        print(f"faceindex: audit log NOT intact{at}: {verdict.problem}", file=sys.stderr)
        return exits.TAMPERED
    if args.action == "head":
        try:
            text = log.latest_head_json()
        except LookupError as error:
            raise InvalidParameter(str(error)) from None
        if args.out:
            args.out.write_text(text + "\n")
        print(text)
        return exits.OK
    filters = Filters(_time(args.since), _time(args.until), args.key, args.collection, args.operation)
    if args.action == "export":
        handle = args.out.open("w") if args.out else sys.stdout
        try:
            for entry in log.entries(filters):
                handle.write(json.dumps(entry, sort_keys=True) + "\n")
        finally:
            if args.out:
                handle.close()
        return exits.OK
    rows = [
        [
            str(e["seq"]),
            output.iso_time(e.get("time", 0)),
            str(e.get("principal", "")),
            str(e.get("operation", "")),
            str(e.get("collection") or "-"),
            str(e.get("outcome", "")),
            _threshold(e),
            str(len(e.get("face_ids", []))),
        ]
        for e in log.entries(filters)
    ]
    print(output.table(["seq", "time (UTC)", "who", "operation", "collection", "outcome", "threshold", "faces"], rows))
    return exits.OK


def _threshold(entry: dict[str, Any]) -> str:
    threshold = entry.get("threshold")
    if not isinstance(threshold, dict):
        return "-"
    asked, applied = threshold.get("asked"), threshold.get("applied")
    return f"{asked:g}" if asked == applied else f"{asked:g}->{applied:g}"


def _time(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _print_erased(receipt: dict[str, Any]) -> None:
    rows = [
        [e["CollectionId"], e["FaceId"], e.get("ExternalImageId", "-"), e.get("UserId", "-")]
        for e in receipt["ErasedFaces"]
    ]
    if rows:
        print(output.table(["collection", "face id", "external image id", "user id"], rows))
    print(f"erased {receipt['ErasedFaceCount']} faces (the audit log holds the receipt: `faceindex audit show`)")
