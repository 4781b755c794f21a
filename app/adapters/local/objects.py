"""Filesystem object store: the local stand-in for S3, Blob storage and GCS."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from app.domain.documents import ObjectNotFoundError, check_object_key


class LocalObjectStore:
    """Objects as files under ``root``; ``bucket`` is the folder name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bucket = root.name
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_object_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
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
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
