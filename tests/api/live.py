"""A real `faceindex serve` process on a free loopback port, and clients for it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from tests.api.shapes import shape_errors

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    shape_errors: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "faceindex.cli.main", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )

    def new_key(self, operations: str = "*") -> tuple[str, str]:
        done = self.cli("keys", "create", "--operations", operations, "--json")
        assert done.returncode == 0, done.stderr
        created = json.loads(done.stdout)
        return created["AccessKeyId"], created["SecretAccessKey"]

    def client(self, key: tuple[str, str], attempts: int = 1) -> Any:
        """boto3's Rekognition client; every response body is checked against botocore's output shape."""
        client = boto3.client(
            "rekognition",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            config=Config(retries={"mode": "standard", "total_max_attempts": attempts}, read_timeout=300),
        )

        def check(http_response: Any, model: Any, **_: Any) -> None:
            if http_response.status_code == 200:
                body = json.loads(http_response.content or b"{}")
                self.shape_errors += [f"{model.name}: {e}" for e in shape_errors(body, model.output_shape)]

        client.meta.events.register("after-call.rekognition", check)
        return client

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=300)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_server(
    data_dir: Path,
    cache: Path,
    extra_env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,  # e.g. a lower file limit for the server alone
) -> LiveServer:
    port = free_port()
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "FACEINDEX_DATA_DIR": str(data_dir),
        "FACEINDEX_PORT": str(port),
        **(extra_env or {}),
    }
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    server = LiveServer(f"http://127.0.0.1:{port}", env, data_dir, log_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    server.new_key()  # so the server does not make (and print) a first key
    with log_path.open("wb") as log:
        server.process = subprocess.Popen(
            [sys.executable, "-m", "faceindex.cli.main", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: {server.log()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server not ready: {server.log()}")
