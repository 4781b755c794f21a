"""Signed upload tokens: the local stand-in for S3 presigned POSTs and SAS URLs.

A token names the object key, the declared content type, the size limit and an
expiry, signed with HMAC-SHA256 under a key kept in the data dir. Whoever holds
it may upload that one object until it expires, without a bearer token — as with
a presigned URL in the cloud.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from app.domain.documents import InvalidObjectKeyError, check_object_key


class InvalidUploadTokenError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(f"The upload URL is not valid: {reason}; ask for a new one.")


@dataclass(frozen=True)
class UploadGrant:
    key: str
    content_type: str
    max_bytes: int
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UploadSigner:
    """Example::

    signer = UploadSigner.in_dir(Path(".mlops"))
    token = signer.sign(UploadGrant("uploads/d1", "image/png", 10_000, time.time() + 900))
    assert signer.verify(token).key == "uploads/d1"
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("an upload signing key needs at least 32 bytes")
        self._key = key

    @classmethod
    def in_dir(cls, directory: Path) -> UploadSigner:
        """The signer of this data dir; its key is created on first use, readable by us only."""
        path = directory / "upload-signing.key"
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            # Written whole, then linked into place: a second process either finds
            # no key or the complete one, never a half-written (empty) key.
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-key-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secrets.token_bytes(32))
                    fh.flush()
                    os.fsync(fh.fileno())
                with contextlib.suppress(FileExistsError):  # another process won
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        return cls(path.read_bytes())

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, grant: UploadGrant) -> str:
        body = {
            "k": grant.key,
            "t": grant.content_type,
            "m": grant.max_bytes,
            "e": grant.expires_at,
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, *, now: float | None = None) -> UploadGrant:
        payload, _, mac = token.partition(".")
        # Bytes: compare_digest refuses non-ASCII str, and this comes from anyone.
        expected = self._mac(payload).encode()
        if not payload or not hmac.compare_digest(mac.encode("utf-8", "replace"), expected):
            raise InvalidUploadTokenError("the signature does not match")
        try:
            body = json.loads(_unb64(payload))
            grant = UploadGrant(str(body["k"]), str(body["t"]), int(body["m"]), float(body["e"]))
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise InvalidUploadTokenError("it cannot be read") from exc
        # Checked even under a valid signature: a key that leaked, or a signer bug, must
        # not turn into a write outside the uploads or a grant that never expires.
        try:
            check_object_key(grant.key)
        except InvalidObjectKeyError as exc:
            raise InvalidUploadTokenError("it names no valid object") from exc
        if not math.isfinite(grant.expires_at) or grant.max_bytes <= 0:
            raise InvalidUploadTokenError("it cannot be read")
        if grant.expires_at < (time.time() if now is None else now):
            raise InvalidUploadTokenError("it has expired")
        return grant
