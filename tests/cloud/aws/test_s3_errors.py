"""S3's own troubles become the retryable domain error; an absent key does not."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from app.adapters.aws.s3 import S3ObjectStore
from app.domain.documents import ObjectNotFoundError, StorageUnavailableError


def store_answering(code: str, status: int) -> S3ObjectStore:
    client = boto3.client(
        "s3", region_name="eu-west-3", aws_access_key_id="t", aws_secret_access_key="t"
    )
    stub = Stubber(client)
    stub.add_client_error("get_object", service_error_code=code, http_status_code=status)
    stub.activate()
    return S3ObjectStore("uploads-bucket", client=client)


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("InternalError", 500)])
def test_throttling_and_server_errors_are_retryable(code: str, status: int) -> None:
    with pytest.raises(StorageUnavailableError, match=code):
        store_answering(code, status).get("uploads/d1")


def test_a_missing_key_is_not_found() -> None:
    with pytest.raises(ObjectNotFoundError):
        store_answering("NoSuchKey", 404).get("uploads/d1")


def test_access_denied_is_neither() -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        store_answering("AccessDenied", 403).get("uploads/d1")
