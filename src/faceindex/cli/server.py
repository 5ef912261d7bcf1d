"""`faceindex serve` (keys are `cli.governance`'s)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import Any

from faceindex.cli import exits
from faceindex.cli.governance import describe_grants
from faceindex.config import Settings
from faceindex.service.container import open_services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke
from faceindex.service.policy import CLASSES
from faceindex.store.sqlite import files

COMMANDS = ("serve",)
FIRST_KEY_FILE = "first-key.json"  # the first key's secret when stderr is not a terminal
EXIT_CANNOT_START = exits.MODEL  # the server could not start: its port (here), or a model (uvicorn's startup failure)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="serve Rekognition's API, the REST API and the metrics over HTTP")
    serve.add_argument("--host", help="address to listen on (default FACEINDEX_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default FACEINDEX_PORT or 8080)")
    serve.add_argument("--no-auth", action="store_true", help="no signatures: development on a loopback address only")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return _serve(args, settings)


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


def _first_key(settings: Settings) -> dict[str, Any] | None:
    """On a store with no active key, make one allowed everything, so the server can be used at once
    (created through the service door as the operator who started the server: it is audited)."""
    services = open_services(settings)
    try:
        if any(record.revoked_at is None for record in services.store.access_keys()):
            return None
        params = {"Name": "first key", "Permissions": list(CLASSES)}
        created: dict[str, Any] = invoke(services, operator(), "CreateAccessKey", params).result
        return created
    finally:
        services.close()


def _banner(settings: Settings, key: dict[str, Any] | None) -> None:
    """How to call the server. A first key's secret is shown only on a terminal: a log (journald,
    docker logs, CI) is read by more people and kept longer, so there it goes to a 0600 file."""
    url = f"http://{settings.host}:{settings.port}"
    key_id = key["AccessKeyId"] if key else "<access key id>"
    secret = key["SecretAccessKey"] if key else "<secret>"
    lines = [f"faceindex: Rekognition's API at {url} (data in {settings.data_dir}, auth {settings.auth})"]
    if key and sys.stderr.isatty():
        lines.append(f"  a first access key was created: {key_id} / {secret}  (shown once: keep it now)")
        lines.append(f"  it is allowed {describe_grants(key)}; make narrower ones with `faceindex keys create --allow`")
    elif key:
        secret_file = settings.data_dir / FIRST_KEY_FILE
        body = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        files.write_private(secret_file, json.dumps(body).encode())
        secret = f"<SecretAccessKey in {secret_file}>"
        lines.append(f"  a first access key was created: {key_id}; its secret is in {secret_file} (mode 0600:")
        lines.append("  keep it elsewhere, then delete the file)")
        lines.append(f"  it is allowed {describe_grants(key)}; make narrower ones with `faceindex keys create --allow`")
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
