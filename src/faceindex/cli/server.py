"""`faceindex serve` and `faceindex keys create|list|revoke`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from faceindex.cli import exits, output
from faceindex.config import Settings
from faceindex.errors import InvalidParameter
from faceindex.service.keys import ALL_OPERATIONS, AccessKey, KeyStore
from faceindex.store.sqlite import files
from faceindex.store.sqlite.store import SqliteStore

COMMANDS = ("serve", "keys")
FIRST_KEY_FILE = "first-key.json"  # the first key's secret when stderr is not a terminal
EXIT_CANNOT_START = exits.MODEL  # the server could not start: its port (here), or a model (uvicorn's startup failure)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="serve Rekognition's API, the REST API and the metrics over HTTP")
    serve.add_argument("--host", help="address to listen on (default FACEINDEX_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default FACEINDEX_PORT or 8080)")
    serve.add_argument("--no-auth", action="store_true", help="no signatures: development on a loopback address only")

    keys = commands.add_parser("keys", help="access keys for the server")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of:")
    create = actions.add_parser("create", help="a new key; its secret is printed once")
    create.add_argument("--name", default="", help="who or what uses it")
    create.add_argument(
        "--operations", default=ALL_OPERATIONS, help="comma-separated operations it may call (default: all)"
    )
    create.add_argument("--json", action="store_true", help='print {"AccessKeyId", "SecretAccessKey"} as JSON')
    actions.add_parser("list", help="keys and their permissions (never secrets)").add_argument(
        "--json", action="store_true", help="print the keys as a JSON list (times in seconds since 1970)"
    )
    actions.add_parser("revoke", help="stop accepting a key").add_argument(
        "access_key_id", help="the key's access key id"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(args, settings)
    store = SqliteStore(settings.data_dir / "faceindex.db")
    try:
        keys = KeyStore(store, settings.data_dir)
        if args.action == "create":
            operations = [op.strip() for op in args.operations.split(",") if op.strip()]
            _check_operations(operations)
            key = keys.create(args.name, operations)
            if args.json:
                print(json.dumps({"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}))
            else:
                _print_key(key)
        elif args.action == "list":
            records = keys.list()
            if args.json:
                output.print_json([{k: v for k, v in r.__dict__.items() if k != "secret_sealed"} for r in records])
            else:
                rows = [
                    [
                        r.access_key_id,
                        r.name or "-",
                        ",".join(r.operations),
                        output.iso_time(r.created_at),
                        "revoked" if r.revoked_at else "active",
                    ]
                    for r in records
                ]
                print(output.table(["access key id", "name", "operations", "created (UTC)", "state"], rows))
        else:
            keys.revoke(args.access_key_id)
            print(f"revoked {args.access_key_id}")
        return 0
    finally:
        store.close()


def _check_operations(operations: list[str]) -> None:
    from faceindex.api.rekognition.operations import HANDLERS

    unknown = [op for op in operations if op != ALL_OPERATIONS and op not in HANDLERS]
    if unknown:
        raise InvalidParameter(f"unknown operations {', '.join(unknown)}; choose from {', '.join(sorted(HANDLERS))}")


def _print_key(key: AccessKey) -> None:
    print(f"access key id:     {key.access_key_id}")
    print(f"secret access key: {key.secret_access_key}   (shown once: keep it now)")
    print(f"operations:        {', '.join(key.operations)}")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from faceindex.api.app import serve
    from faceindex.api.server import CannotListen

    settings = replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        auth="none" if args.no_auth else settings.auth,
    )
    settings.validate()
    files.private_folder(settings.data_dir)
    with files.serve_lock(settings.data_dir):  # before binding: a second server on this folder stops here
        try:
            serve(settings, lambda: _banner(settings, _first_key(settings) if settings.auth == "sigv4" else None))
        except CannotListen as error:  # before the banner and "ready": nothing was said that is not so
            print(f"faceindex: {error}", file=sys.stderr)
            return EXIT_CANNOT_START
    return 0


def _first_key(settings: Settings) -> AccessKey | None:
    """On a store with no active key, make one so the server can be used at once."""
    store = SqliteStore(settings.data_dir / "faceindex.db")
    try:
        if any(record.revoked_at is None for record in store.access_keys()):
            return None
        return KeyStore(store, settings.data_dir).create("first key", [ALL_OPERATIONS])
    finally:
        store.close()


def _banner(settings: Settings, key: AccessKey | None) -> None:
    """How to call the server. A first key's secret is shown only on a terminal: a log (journald,
    docker logs, CI) is read by more people and kept longer, so there it goes to a 0600 file."""
    url = f"http://{settings.host}:{settings.port}"
    key_id = key.access_key_id if key else "<access key id>"
    secret = key.secret_access_key if key else "<secret>"
    lines = [f"faceindex: Rekognition's API at {url} (data in {settings.data_dir}, auth {settings.auth})"]
    if key and sys.stderr.isatty():
        lines.append(f"  a first access key was created: {key_id} / {secret}  (shown once: keep it now)")
    elif key:
        secret_file = settings.data_dir / FIRST_KEY_FILE
        body = {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}
        files.write_private(secret_file, json.dumps(body).encode())
        secret = f"<SecretAccessKey in {secret_file}>"
        lines.append(f"  a first access key was created: {key_id}; its secret is in {secret_file} (mode 0600:")
        lines.append("  keep it elsewhere, then delete the file)")
    elif settings.auth == "sigv4":
        lines.append("  make keys with `faceindex keys create`")
    lines += [
        f"  boto3:   boto3.client('rekognition', endpoint_url='{url}', region_name='{settings.region}',"
        f" aws_access_key_id='{key_id}', aws_secret_access_key='{secret}')",
        f"  AWS CLI: AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret} "
        f"aws rekognition list-collections --endpoint-url {url} --region {settings.region}",
        f"  REST:    {url}/docs    metrics: {url}/metrics    all links: {url}/",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
