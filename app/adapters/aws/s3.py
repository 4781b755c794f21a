"""Uploaded documents in an S3 bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.adapters.aws import client as aws_client
from app.domain.documents import (
    ObjectNotFoundError,
    PresignedUpload,
    StorageUnavailableError,
    check_object_key,
)

# S3 answers these when it is the one in trouble; the read is worth retrying.
_TRANSIENT_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "Throttling",
    "503",
    "500",
}


class S3ObjectStore:
    """Example::

    store = S3ObjectStore("mlops-uploads-1a2b")
    version = store.put("uploads/8f0c", data, content_type="image/png")
    """

    def __init__(self, bucket: str, *, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            # Virtual-hosted, regional URLs: presigned POSTs to the global endpoint are
            # redirected (307) for a new bucket outside us-east-1, which curl and a
            # browser's CORS upload do not follow. (An IP endpoint, as in tests, stays
            # path-style.)
            self._client = aws_client(
                "s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
            )
        return self._client

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        answer = self.client.put_object(
            Bucket=self.bucket, Key=check_object_key(key), Body=data, ContentType=content_type
        )
        # The version id on a versioned bucket (it is, in every deployment), else the ETag.
        return str(answer.get("VersionId") or answer["ETag"].strip('"'))

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=check_object_key(key))
            body: bytes = answer["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise ObjectNotFoundError(key) from exc
            if code in _TRANSIENT_CODES:
                raise StorageUnavailableError(key, str(code)) from exc
            raise
        except BotoCoreError as exc:  # connection, read timeout, bad response body
            raise StorageUnavailableError(key, type(exc).__name__) from exc
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_object_key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_seconds: int
    ) -> PresignedUpload:
        """A presigned POST: S3 itself refuses another content type or a bigger file."""
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=check_object_key(key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_seconds,
        )
        return PresignedUpload(
            url=post["url"],
            method="POST",
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_seconds),
            max_bytes=max_bytes,
            fields=dict(post["fields"]),
        )
