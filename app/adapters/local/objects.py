"""Filesystem object store: the local stand-in for S3, Blob storage and GCS."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from app.adapters.local.upload_tokens import UploadGrant, UploadSigner
from app.domain.documents import (
    ObjectNotFoundError,
    PresignedUpload,
    StorageUnavailableError,
    check_object_key,
)

# Served by app/api/routes/uploads.py in local mode; relative to the API's own URL.
UPLOAD_PATH = "/v1/uploads/"
# What the disk, not the request, is to blame for: worth a retry once it is mended.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE, errno.ENFILE}


@contextlib.contextmanager
def _storage_faults(key: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _STORAGE_ERRNOS:
            raise StorageUnavailableError(key, os.strerror(exc.errno)) from exc
        raise


class LocalObjectStore:
    """Objects as files under ``root``; ``bucket`` is the folder name.

    Presigned uploads are ``PUT``s to the API's own ``/v1/uploads/<token>``,
    signed by ``signer`` (a key in the data dir unless given).
    """

    def __init__(self, root: Path, *, signer: UploadSigner | None = None) -> None:
        self.root = root
        self.bucket = root.name
        root.mkdir(parents=True, exist_ok=True)
        self.signer = signer or UploadSigner.in_dir(root.parent)

    def _path(self, key: str) -> Path:
        return self.root / check_object_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        with _storage_faults(key):
            return self._put(key, data)

    def _put(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so a crash never leaves a half-written upload behind.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return hashlib.md5(data, usedforsecurity=False).hexdigest()

    def get(self, key: str) -> bytes:
        try:
            with _storage_faults(key):
                return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_seconds: int
    ) -> PresignedUpload:
        expires_at = time.time() + expires_seconds
        token = self.signer.sign(
            UploadGrant(check_object_key(key), content_type, max_bytes, expires_at)
        )
        return PresignedUpload(
            url=UPLOAD_PATH + token,
            method="PUT",
            expires_at=datetime.fromtimestamp(expires_at, UTC),
            max_bytes=max_bytes,
            headers={"Content-Type": content_type},
        )
