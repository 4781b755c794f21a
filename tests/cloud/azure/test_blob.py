"""The Blob adapter beyond the shared suite: SAS uploads Azurite really accepts or refuses,
artifacts read from MLflow's ``wasbs://`` URIs, and Azure's errors as domain errors.

Error mapping runs the real SDK against a tiny HTTP server answering as Blob storage does
when it is busy (or a closed port), so the exceptions are the ones the SDK really raises.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from app.adapters.azure.blob import BlobLocation, BlobObjectStore, parse_blob_uri, service_client
from app.domain.documents import ObjectNotFoundError, StorageUnavailableError
from app.domain.models import ArtifactNotFoundError
from tests.cloud.azure.azurite import ACCOUNT_KEY, Azurite
from tests.cloud.azure.factories import blob_store


@pytest.fixture
def store(tmp_path: Path, azurite: Azurite) -> BlobObjectStore:
    return blob_store(tmp_path, azurite)  # type: ignore[return-value]


def put_presigned(store: BlobObjectStore, key: str, data: bytes, **changes: str) -> int:
    presigned = store.presign_upload(
        key, content_type="image/png", max_bytes=1000, expires_seconds=300
    )
    url = presigned.url
    for old, new in changes.items():
        url = url.replace(old, new)
    return requests.put(url, data=data, headers=presigned.headers, timeout=10).status_code


# --- presigned uploads ---------------------------------------------------------------------


def test_a_presigned_put_lands_under_the_key_with_its_content_type(store):
    presigned = store.presign_upload(
        "uploads/d1", content_type="image/png", max_bytes=1000, expires_seconds=300
    )
    assert presigned.method == "PUT"
    assert presigned.headers == {"x-ms-blob-type": "BlockBlob", "Content-Type": "image/png"}
    query = parse_qs(urlparse(presigned.url).query)
    assert query["sp"] == ["cw"]  # create + write: no read, list or delete
    assert query["sr"] == ["b"]  # this one blob

    response = requests.put(presigned.url, data=b"\x89PNG bytes", headers=presigned.headers)

    assert response.status_code == 201, response.text
    assert store.get("uploads/d1") == b"\x89PNG bytes"
    properties = store.service.get_blob_client(store.bucket, "uploads/d1").get_blob_properties()
    assert properties.content_settings.content_type == "image/png"
    assert response.headers["ETag"].strip('"') == properties.etag.strip('"')


def test_the_sas_grants_nothing_but_writing_its_own_blob(store):
    store.put("uploads/other", b"secret", content_type="image/png")
    presigned = store.presign_upload(
        "uploads/d2", content_type="image/png", max_bytes=1000, expires_seconds=300
    )
    # Another key with the same signature, reading the blob back, a widened permission.
    elsewhere = presigned.url.replace("uploads/d2", "uploads/other")
    assert requests.put(elsewhere, data=b"x", headers=presigned.headers).status_code == 403
    assert store.get("uploads/other") == b"secret"
    assert requests.put(presigned.url, data=b"x", headers=presigned.headers).status_code == 201
    assert requests.get(presigned.url).status_code == 403
    assert put_presigned(store, "uploads/d3", b"x", **{"sp=cw": "sp=rcw"}) == 403
    assert not store.exists("uploads/d3")


def test_a_tampered_or_expired_sas_is_refused(store):
    presigned = store.presign_upload(
        "uploads/d4", content_type="image/png", max_bytes=1000, expires_seconds=300
    )
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ")
    expiry = parse_qs(urlparse(presigned.url).query)["se"][0]
    extended = presigned.url.replace("se=" + expiry.replace(":", "%3A"), "se=" + later)
    assert extended != presigned.url
    assert requests.put(extended, data=b"x", headers=presigned.headers).status_code == 403

    expired = store.presign_upload(
        "uploads/d4", content_type="image/png", max_bytes=1000, expires_seconds=-60
    )
    assert requests.put(expired.url, data=b"x", headers=expired.headers).status_code == 403
    assert not store.exists("uploads/d4")


# --- artifacts -----------------------------------------------------------------------------


@pytest.fixture
def artifacts(azurite: Azurite) -> str:
    """A fresh artifacts container holding one MLmodel file; its name."""
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    container = service_client(connection_string=azurite.connection_string).create_container(name)
    container.upload_blob("mlflow/1/models/m-1/artifacts/MLmodel", b"flavors: {}\n")
    return name


def test_an_artifact_is_read_from_its_wasbs_uri(store, artifacts, tmp_path):
    uri = f"wasbs://{artifacts}@devstoreaccount1.blob.core.windows.net/mlflow/1/models/m-1/artifacts/MLmodel"
    dest = store.download_artifact(uri, tmp_path / "MLmodel")
    assert dest.read_bytes() == b"flavors: {}\n"


def test_an_artifact_is_read_from_its_https_uri(store, artifacts, tmp_path):
    uri = f"https://devstoreaccount1.blob.core.windows.net/{artifacts}/mlflow/1/models/m-1/artifacts/MLmodel"
    assert store.download_artifact(uri, tmp_path / "MLmodel").read_bytes() == b"flavors: {}\n"


def test_an_absent_artifact_raises_the_model_error(store, artifacts, tmp_path):
    uri = f"wasbs://{artifacts}@devstoreaccount1.blob.core.windows.net/mlflow/1/nothing/MLmodel"
    with pytest.raises(ArtifactNotFoundError, match="nothing/MLmodel"):
        store.download_artifact(uri, tmp_path / "MLmodel")
    assert not (tmp_path / "MLmodel").exists()


def test_the_model_loader_reads_wasbs_uris_from_the_configured_storage(
    azurite_env, artifacts, tmp_path
):
    from app.adapters.artifacts import fetch

    # No store at hand: the account of the URI, here the emulator AZURE_STORAGE_CONNECTION_STRING
    # names (the variable MLflow writes artifacts with).
    base = f"wasbs://{artifacts}@devstoreaccount1.blob.core.windows.net/mlflow/1/models/m-1"
    assert fetch(f"{base}/artifacts/MLmodel", tmp_path / "MLmodel").read_bytes() == b"flavors: {}\n"
    with pytest.raises(ArtifactNotFoundError):
        fetch(f"{base}/artifacts/model.skops", tmp_path / "model.skops")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "wasbs://artifacts@mlopsdocs1a2b.blob.core.windows.net/mlflow/1/MLmodel",
            BlobLocation("mlopsdocs1a2b", "artifacts", "mlflow/1/MLmodel"),
        ),
        (
            "https://mlopsdocs1a2b.blob.core.windows.net/artifacts/mlflow/a%20b",
            BlobLocation("mlopsdocs1a2b", "artifacts", "mlflow/a b"),
        ),
        (
            "wasbs://artifacts@acct.blob.core.chinacloudapi.cn/m",
            BlobLocation("acct", "artifacts", "m", "blob.core.chinacloudapi.cn"),
        ),
    ],
)
def test_blob_uris_are_parsed(uri, expected):
    assert parse_blob_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/key",
        "wasbs://acct.blob.core.windows.net/path",  # no container
        "https://example.com/artifacts/m",
        "https://acct.blob.core.windows.net/artifacts",  # a container, no blob
    ],
)
def test_other_uris_are_refused_with_the_accepted_forms(uri):
    with pytest.raises(ValueError, match="wasbs://<container>@<account>"):
        parse_blob_uri(uri)


# --- errors --------------------------------------------------------------------------------


class _Answer(BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` and ``error_code``, as Blob does."""

    def _answer(self) -> None:
        status, code = self.server.answer  # type: ignore[attr-defined]
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
            f"<Message>{code}</Message></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("x-ms-error-code", code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def blob_answering() -> Iterator[object]:
    """``blob_answering(status, code)``: a store whose every request gets that answer."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    def store(status: int, code: str) -> BlobObjectStore:
        server.answer = (status, code)  # type: ignore[attr-defined]
        return _store_at(f"http://127.0.0.1:{server.server_port}/devstoreaccount1")

    yield store
    server.shutdown()
    server.server_close()


def _store_at(account_url: str) -> BlobObjectStore:
    from azure.storage.blob import BlobServiceClient

    credential = {"account_name": "devstoreaccount1", "account_key": ACCOUNT_KEY}
    # No retries: the SDK's own would only slow the test down before the same error.
    service = BlobServiceClient(account_url, credential=credential, retry_total=0)
    return BlobObjectStore("uploads", service=service)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (503, "ServerBusy"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
        (429, "TooManyRequests"),
    ],
)
def test_storage_in_trouble_is_retryable(blob_answering, status, code):
    with pytest.raises(StorageUnavailableError, match=code):
        blob_answering(status, code).get("uploads/d1")
    with pytest.raises(StorageUnavailableError, match=code):
        blob_answering(status, code).exists("uploads/d1")


def test_an_unreachable_account_is_retryable():
    import socket

    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StorageUnavailableError, match="ServiceRequestError"):
        _store_at(f"http://127.0.0.1:{port}/devstoreaccount1").get("uploads/d1")


def test_a_missing_blob_is_not_found(blob_answering):
    with pytest.raises(ObjectNotFoundError):
        blob_answering(404, "BlobNotFound").get("uploads/d1")


def test_denied_access_and_a_missing_container_are_neither(blob_answering, azurite):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    with pytest.raises(HttpResponseError) as denied:
        blob_answering(403, "AuthorizationPermissionMismatch").get("uploads/d1")
    assert not isinstance(denied.value, ResourceNotFoundError)
    # A container that does not exist is a deployment mistake, not a missing document.
    service = service_client(connection_string=azurite.connection_string)
    with pytest.raises(ResourceNotFoundError, match="ContainerNotFound"):
        BlobObjectStore("no-such-container", service=service).get("uploads/d1")


# --- user-delegation SAS (the cloud's; Azurite signs with its account key) -----------------


class DelegatingService:
    """A ``BlobServiceClient`` authenticated by a token (no account key): it hands out
    user-delegation keys, counting them. Blob clients are the SDK's own."""

    def __init__(self) -> None:
        from azure.storage.blob import BlobServiceClient

        self._real = BlobServiceClient(
            "https://mlopsdocs1a2b.blob.core.windows.net", credential=_NoToken()
        )
        self.credential = self._real.credential
        self.requested: list[tuple[datetime, datetime]] = []

    def get_blob_client(self, container: str, blob: str) -> object:
        return self._real.get_blob_client(container, blob)

    def get_user_delegation_key(
        self, key_start_time: datetime, key_expiry_time: datetime
    ) -> object:
        from azure.storage.blob import UserDelegationKey

        self.requested.append((key_start_time, key_expiry_time))
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = str(uuid.uuid4()), str(uuid.uuid4())
        key.signed_start = key_start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_expiry = key_expiry_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service, key.signed_version = "b", "2025-11-05"
        key.value = "c2VjcmV0LWtleS1vZi10aGUtZGVsZWdhdGlvbg=="
        return key


class _NoToken:
    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("no request is expected")


def test_in_the_cloud_uploads_are_signed_by_a_cached_user_delegation_key():
    service = DelegatingService()
    store = BlobObjectStore("uploads", service=service)  # type: ignore[arg-type]

    first = store.presign_upload(
        "uploads/a", content_type="image/png", max_bytes=9, expires_seconds=900
    )
    second = store.presign_upload(
        "uploads/b", content_type="image/png", max_bytes=9, expires_seconds=900
    )

    assert len(service.requested) == 1  # one key for many URLs
    start, expiry = service.requested[0]
    assert start < datetime.now(UTC) < first.expires_at < expiry
    for presigned, key in ((first, "uploads/a"), (second, "uploads/b")):
        assert presigned.url.startswith(
            f"https://mlopsdocs1a2b.blob.core.windows.net/uploads/{key}?"
        )
        query = parse_qs(urlparse(presigned.url).query)
        assert {"skoid", "sktid", "skt", "ske", "sig"} <= set(query)  # a user-delegation SAS
        assert query["sp"] == ["cw"] and query["spr"] == ["https"]
    # A URL that would outlive the cached key gets a new one.
    store.presign_upload("uploads/c", content_type="image/png", max_bytes=9, expires_seconds=86400)
    assert len(service.requested) == 2
    assert service.requested[1][1] > datetime.now(UTC) + timedelta(days=1)


# --- the emulator fixture -------------------------------------------------------------------


def test_without_azurite_ci_fails_and_a_laptop_skips(tmp_path, monkeypatch):
    from tests.cloud.azure.azurite import require

    missing = tmp_path / "azurite-blob"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make install"):
        require(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="make install"):
        require(missing)
