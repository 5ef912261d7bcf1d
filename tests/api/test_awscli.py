"""The AWS CLI (awscli from PyPI) against the live server with --endpoint-url, as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.live import REGION, LiveServer


@pytest.fixture(scope="module")
def aws(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Any:
    key = server.new_key()
    home = tmp_path_factory.mktemp("aws-home")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key[0],
        "AWS_SECRET_ACCESS_KEY": key[1],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
        "HOME": str(home),
    }
    cli = Path(sys.executable).parent / "aws"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(cli), "rekognition", *args, "--endpoint-url", server.url, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    return run


def test_collections_index_and_search(aws: Any, testdata: Path) -> None:
    created = aws("create-collection", "--collection-id", "cli-photos")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["StatusCode"] == 200

    indexed = aws(
        "index-faces",
        "--collection-id", "cli-photos",
        "--image-bytes", f"fileb://{testdata / 'faces/biden/1.jpg'}",
        "--external-image-id", "biden-1",
    )  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    face_id = json.loads(indexed.stdout)["FaceRecords"][0]["Face"]["FaceId"]

    from_bucket = aws(
        "index-faces",
        "--collection-id", "cli-photos",
        "--image", "S3Object={Bucket=testdata,Name=faces/biden/2.jpg}",
    )  # fmt: skip
    assert from_bucket.returncode == 0, from_bucket.stderr

    found = aws(
        "search-faces-by-image",
        "--collection-id", "cli-photos",
        "--image-bytes", f"fileb://{testdata / 'multi/obama_and_biden.jpg'}",
        "--face-match-threshold", "80",
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    listed = aws("list-faces", "--collection-id", "cli-photos")
    assert face_id in {f["FaceId"] for f in json.loads(listed.stdout)["Faces"]}
    assert json.loads(aws("describe-collection", "--collection-id", "cli-photos").stdout)["FaceCount"] == 2
    names = json.loads(aws("list-collections").stdout)["CollectionIds"]
    assert "cli-photos" in names
    assert aws("delete-collection", "--collection-id", "cli-photos").returncode == 0


def test_detect_and_errors(aws: Any, testdata: Path) -> None:
    detected = aws(
        "detect-faces", "--image-bytes", f"fileb://{testdata / 'multi/obama_and_biden.jpg'}", "--attributes", "ALL"
    )
    assert detected.returncode == 0 and len(json.loads(detected.stdout)["FaceDetails"]) >= 2

    missing = aws("describe-collection", "--collection-id", "no-such-collection")
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr and "Traceback" not in missing.stderr

    unsupported = aws("detect-labels", "--image-bytes", f"fileb://{testdata / 'faces/obama/1.jpg'}")
    assert unsupported.returncode != 0 and "UnsupportedOperationException" in unsupported.stderr
