"""The local upload signer: the key it signs with."""

from __future__ import annotations

import pytest


def test_an_upload_signing_key_must_be_long(tmp_path):
    from app.adapters.local.upload_tokens import UploadSigner

    with pytest.raises(ValueError, match="32 bytes"):
        UploadSigner(b"")
    (tmp_path / "upload-signing.key").write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        UploadSigner.in_dir(tmp_path)
