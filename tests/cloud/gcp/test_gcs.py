"""The GCS adapter beyond the shared suite: signed upload URLs, IAM signing, transient
errors, ``gs://`` artifacts.

The emulator accepts any ``PUT /bucket/key`` and checks no signature, so the upload
test also verifies the V4 signature itself, as GCS does, with the throw-away key's
public half: a URL whose content type, size range or method is changed no longer
verifies.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as api
from google.auth import credentials as auth_credentials

from app.adapters.gcp.gcs import GcsObjectStore, download_artifact
from app.domain.documents import StorageUnavailableError
from app.domain.models import ArtifactNotFoundError
from tests.cloud.gcp.factories import TEST_SERVICE_ACCOUNT, gcs_store, signing_credentials

RUNTIME_ACCOUNT = "ocr-runtime@test.iam.gserviceaccount.com"


def v4_signature_holds(
    url: str, method: str, headers: dict[str, str], public_key: rsa.RSAPublicKey
) -> bool:
    """Whether GCS would accept ``url`` for a request with ``method`` and ``headers``:
    the canonical request of the V4 signing process, rebuilt and checked with RSA."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    signature = bytes.fromhex(query.pop("X-Goog-Signature"))
    sent = {k.lower(): v.strip() for k, v in {**headers, "Host": parts.netloc}.items()}
    signed = query["X-Goog-SignedHeaders"].split(";")
    if any(name not in sent for name in signed):
        return False
    canonical_request = "\n".join(
        [
            method,
            parts.path,
            "&".join(
                f"{urllib.parse.quote(k, safe='~')}={urllib.parse.quote(v, safe='~')}"
                for k, v in sorted(query.items())
            ),
            "".join(f"{name}:{sent[name]}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    try:
        public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def throwaway_private_key() -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization

    from tests.cloud.gcp.factories import _throwaway_key_pem

    key = serialization.load_pem_private_key(_throwaway_key_pem().encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def throwaway_public_key() -> rsa.RSAPublicKey:
    return throwaway_private_key().public_key()


@pytest.fixture
def store(tmp_path, gcs_emulator) -> GcsObjectStore:
    return gcs_store(tmp_path, gcs_emulator)


# --- signed upload URLs -------------------------------------------------------------------


def test_a_signed_put_uploads_the_bytes_with_its_content_type(store):
    presigned = store.presign_upload(
        "uploads/s1", content_type="image/png", max_bytes=1000, expires_seconds=120
    )
    assert presigned.headers == {
        "Content-Type": "image/png",
        "x-goog-content-length-range": "1,1000",
    }
    answer = requests.put(
        presigned.url, data=b"\x89PNG scan", headers=presigned.headers, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert store.get("uploads/s1") == b"\x89PNG scan"
    assert store.client.bucket(store.bucket).get_blob("uploads/s1").content_type == "image/png"


def test_the_url_is_signed_by_the_service_account_for_put_with_both_headers(store):
    before = datetime.now(UTC).replace(microsecond=0)
    presigned = store.presign_upload(
        "uploads/s2", content_type="application/pdf", max_bytes=5000, expires_seconds=300
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(presigned.url).query))
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert query["X-Goog-Credential"].startswith(f"{TEST_SERVICE_ACCOUNT}/")
    assert query["X-Goog-SignedHeaders"] == "content-type;host;x-goog-content-length-range"
    assert query["X-Goog-Expires"] == "300"
    signed_at = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= datetime.now(UTC)
    assert (presigned.expires_at - signed_at).total_seconds() == pytest.approx(300, abs=2)


def test_gcs_would_refuse_another_content_type_size_range_or_method(store):
    presigned = store.presign_upload(
        "uploads/s3", content_type="image/png", max_bytes=1000, expires_seconds=60
    )
    key = throwaway_public_key()
    assert v4_signature_holds(presigned.url, "PUT", presigned.headers, key)
    for changed in (
        {"Content-Type": "text/html"},
        {"x-goog-content-length-range": "1,999999999"},
    ):
        assert not v4_signature_holds(presigned.url, "PUT", {**presigned.headers, **changed}, key)
    without_range = {"Content-Type": "image/png"}
    assert not v4_signature_holds(presigned.url, "PUT", without_range, key)
    assert not v4_signature_holds(presigned.url, "GET", presigned.headers, key)


# --- IAM signBlob when the credentials hold no key ----------------------------------------


class MetadataServerCredentials(auth_credentials.Credentials):
    """Like Cloud Run's: no private key; the email and a token arrive on refresh."""

    def __init__(self, email: str = RUNTIME_ACCOUNT) -> None:
        super().__init__()
        self.service_account_email = "default"
        self._email = email
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"access-token-{self.refreshes}"
        self.service_account_email = self._email


@pytest.fixture
def sign_blob(monkeypatch) -> list[dict[str, str]]:
    """IAM signBlob, in-process: records each call and signs with the throw-away key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from google.cloud.storage import _signing

    key = throwaway_private_key()
    calls: list[dict[str, str]] = []

    def fake_sign_message(message: str, access_token: str, email: str, *_: Any) -> str:
        calls.append({"access_token": access_token, "service_account_email": email})
        signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    monkeypatch.setattr(_signing, "_sign_message", fake_sign_message)
    return calls


def _keyless_store(gcs_emulator, credentials: Any, **kwargs: Any) -> GcsObjectStore:
    from google.cloud import storage

    client = storage.Client(
        project="test",
        credentials=credentials,
        client_options={"api_endpoint": gcs_emulator.endpoint},
    )
    return GcsObjectStore("uploads", client=client, **kwargs)


def test_without_a_private_key_the_url_is_signed_by_iam_as_the_runtime_account(
    gcs_emulator, sign_blob
):
    credentials = MetadataServerCredentials()
    store = _keyless_store(gcs_emulator, credentials)
    presigned = store.presign_upload(
        "uploads/i1", content_type="image/png", max_bytes=10, expires_seconds=60
    )
    assert credentials.refreshes == 1  # the email and the token come from the refresh
    assert sign_blob == [
        {"access_token": "access-token-1", "service_account_email": RUNTIME_ACCOUNT}
    ]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(presigned.url).query))
    assert query["X-Goog-Credential"].startswith(f"{RUNTIME_ACCOUNT}/")
    assert v4_signature_holds(presigned.url, "PUT", presigned.headers, throwaway_public_key())
    # A still-valid token is not refreshed again.
    store.presign_upload("uploads/i2", content_type="image/png", max_bytes=10, expires_seconds=60)
    assert credentials.refreshes == 1


def test_the_configured_signing_account_signs_even_with_a_key_at_hand(gcs_emulator, sign_blob):
    store = _keyless_store(
        gcs_emulator,
        signing_credentials(),
        signing_service_account="signer@p.iam.gserviceaccount.com",
    )
    store.presign_upload("uploads/i3", content_type="image/png", max_bytes=10, expires_seconds=60)
    assert [c["service_account_email"] for c in sign_blob] == ["signer@p.iam.gserviceaccount.com"]


def test_a_key_of_the_configured_account_signs_locally(gcs_emulator, sign_blob):
    store = _keyless_store(
        gcs_emulator, signing_credentials(), signing_service_account=TEST_SERVICE_ACCOUNT
    )
    presigned = store.presign_upload(
        "uploads/i4", content_type="image/png", max_bytes=10, expires_seconds=60
    )
    assert sign_blob == []
    assert v4_signature_holds(presigned.url, "PUT", presigned.headers, throwaway_public_key())


def test_credentials_that_name_no_account_fail_with_what_to_set(gcs_emulator, sign_blob):
    store = _keyless_store(gcs_emulator, MetadataServerCredentials(email="default"))
    with pytest.raises(RuntimeError, match="MLOPS_GCP_SIGNING_SERVICE_ACCOUNT"):
        store.presign_upload(
            "uploads/i5", content_type="image/png", max_bytes=10, expires_seconds=60
        )
    assert sign_blob == []


# --- transient errors ---------------------------------------------------------------------


class FailingClient:
    """A client whose downloads raise ``error``, as the library does once its own retries
    gave up; everything else is refused so the test sees only the read."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def bucket(self, name: str) -> FailingClient:
        return self

    def blob(self, name: str) -> FailingClient:
        return self

    def download_as_bytes(self) -> bytes:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        api.ServiceUnavailable("backend unavailable"),
        api.TooManyRequests("rate limited"),
        api.InternalServerError("backend error"),
        api.GatewayTimeout("timed out"),
        api.RetryError("Timeout of 120.0s exceeded", cause=api.ServiceUnavailable("x")),
        requests.ConnectionError("connection reset"),
        requests.ReadTimeout("read timed out"),
    ],
    ids=type,
)
def test_a_transient_read_error_is_storage_unavailable(error):
    store = GcsObjectStore("uploads", client=FailingClient(error))  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailableError, match=type(error).__name__) as raised:
        store.get("uploads/t1")
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", [api.Forbidden("no access"), api.BadRequest("bad")])
def test_a_permanent_read_error_is_not_masked_as_transient(error):
    store = GcsObjectStore("uploads", client=FailingClient(error))  # type: ignore[arg-type]
    with pytest.raises(type(error)):
        store.get("uploads/t2")


# --- gs:// artifacts ----------------------------------------------------------------------


def test_an_artifact_is_downloaded_from_its_gs_uri(gcs_emulator, tmp_path):
    client = gcs_emulator.client()
    bucket = client.create_bucket(f"artifacts-{abs(hash(tmp_path)) % 10**8}")
    bucket.blob("mlflow/1/abc/artifacts/model/MLmodel").upload_from_string(b"flavors: {}\n")
    uri = f"gs://{bucket.name}/mlflow/1/abc/artifacts/model/MLmodel"
    dest = tmp_path / "MLmodel"
    assert download_artifact(uri, dest, client=client) == dest
    assert dest.read_bytes() == b"flavors: {}\n"

    missing = tmp_path / "model.skops"
    with pytest.raises(ArtifactNotFoundError, match=r"model\.skops"):
        download_artifact(f"gs://{bucket.name}/mlflow/1/abc/model.skops", missing, client=client)
    assert not missing.exists()


@pytest.mark.parametrize("uri", ["s3://b/k", "gs://bucket-only", "gs:///no-bucket"])
def test_a_uri_that_is_not_gs_bucket_path_is_refused(uri, tmp_path):
    with pytest.raises(ValueError, match="gs://bucket/path"):
        download_artifact(uri, tmp_path / "x", client=object())  # type: ignore[arg-type]
