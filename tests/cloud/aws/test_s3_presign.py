"""The S3 presigned POST: the client's upload lands under the document's key, and
the signed policy carries the limits S3 enforces (moto accepts any upload, so the
policy is read back rather than provoked)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests

from app.adapters.aws.s3 import S3ObjectStore

REGION = "eu-west-3"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3ObjectStore]:
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket="uploads-presign", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        yield S3ObjectStore("uploads-presign")  # the client it builds itself


def test_the_posted_form_lands_under_the_key(store: S3ObjectStore) -> None:
    presigned = store.presign_upload(
        "uploads/d1", content_type="image/png", max_bytes=1000, expires_seconds=300
    )
    assert presigned.method == "POST"
    # Regional and virtual-hosted: the global endpoint redirects for new buckets.
    assert presigned.url == f"https://uploads-presign.s3.{REGION}.amazonaws.com/"
    response = requests.post(
        presigned.url,
        data=presigned.fields,
        files={"file": ("scan.png", b"\x89PNG bytes", "image/png")},
        timeout=10,
    )
    assert response.status_code == 204, response.text
    assert store.get("uploads/d1") == b"\x89PNG bytes"


def test_the_policy_pins_key_type_and_size(store: S3ObjectStore) -> None:
    presigned = store.presign_upload(
        "uploads/d2", content_type="application/pdf", max_bytes=5000, expires_seconds=300
    )
    policy = json.loads(base64.b64decode(presigned.fields["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": "uploads-presign"} in conditions
    assert {"key": "uploads/d2"} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, 5000] in conditions
    assert presigned.fields["Content-Type"] == "application/pdf"
