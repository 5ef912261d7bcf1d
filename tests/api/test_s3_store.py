"""Image.S3Object from an S3-compatible store: moto's S3 server on loopback stands in for MinIO/Ceph/AWS."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.api.live import LiveServer, free_port, start_server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.fixture(scope="module")
def with_s3(
    s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory, cache: Path, testdata: Path
) -> Iterator[LiveServer]:
    store = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    store.create_bucket(Bucket="photos")
    store.put_object(Bucket="photos", Key="obama/1.jpg", Body=(testdata / "faces/obama/1.jpg").read_bytes())
    store.put_object(Bucket="photos", Key="big.bin", Body=b"\xff\xd8" + b"\0" * (16 * 1024 * 1024))
    live = start_server(
        tmp_path_factory.mktemp("s3") / "data",
        cache,
        {
            "FACEINDEX_S3_ENDPOINT": s3_endpoint,
            "FACEINDEX_S3_ACCESS_KEY_ID": "k",
            "FACEINDEX_S3_SECRET_ACCESS_KEY": "s",
        },
    )
    yield live
    live.stop(signal.SIGTERM)


def test_objects_are_read_from_the_store(with_s3: LiveServer) -> None:
    client: Any = with_s3.client(with_s3.new_key())
    found = client.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": "obama/1.jpg"}})
    assert len(found["FaceDetails"]) == 1
    for location, code in [
        ({"Bucket": "photos", "Name": "missing.jpg"}, "InvalidS3ObjectException"),
        ({"Bucket": "no-bucket", "Name": "a.jpg"}, "InvalidS3ObjectException"),
        ({"Bucket": "photos", "Name": "big.bin"}, "ImageTooLargeException"),
    ]:
        with pytest.raises(ClientError) as caught:
            client.detect_faces(Image={"S3Object": location})
        assert caught.value.response["Error"]["Code"] == code
