"""Uploaded documents in a GCS bucket, and model artifacts read from ``gs://`` URIs.

Browsers upload straight to the bucket with a V4 signed ``PUT`` URL. On Cloud Run the
runtime credentials come from the metadata server and hold no private key, so the URL
is signed by IAM ``signBlob`` as the service account (the runtime's own, or
``signing_service_account``; the runtime needs ``roles/iam.serviceAccountTokenCreator``
on it). With a key file, or the throw-away key of the tests, it is signed locally.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.domain.documents import (
    ObjectNotFoundError,
    PresignedUpload,
    StorageUnavailableError,
    check_object_key,
)
from app.domain.models import ArtifactNotFoundError

if TYPE_CHECKING:
    from google.cloud import storage

# Signed with the URL: GCS answers 400 to a PUT whose body is outside this range.
LENGTH_RANGE_HEADER = "x-goog-content-length-range"


def storage_client(client: storage.Client | None = None) -> storage.Client:
    """``client`` if given (tests, shared clients), else one from the runtime's credentials."""
    if client is not None:
        return client
    try:
        from google.cloud import storage
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The GCS adapter needs google-cloud-storage: pip install 'mlops-multicloud[gcp]'."
        ) from exc
    return storage.Client()


def _transient_errors() -> tuple[type[BaseException], ...]:
    """What GCS or the network answer when they, not the object, are in trouble. They
    reach us once the library's own retries (up to 120 s) have given up."""
    import requests
    from google.api_core import exceptions as api
    from google.auth.exceptions import TransportError

    return (
        api.TooManyRequests,
        api.InternalServerError,
        api.BadGateway,
        api.ServiceUnavailable,
        api.GatewayTimeout,
        api.RetryError,  # the library's retry deadline passed on one of the above
        requests.ConnectionError,
        requests.Timeout,
        TransportError,
    )


class GcsObjectStore:
    """Example::

    store = GcsObjectStore("mlops-uploads-1a2b")
    generation = store.put("uploads/8f0c", data, content_type="image/png")
    """

    def __init__(
        self,
        bucket: str,
        *,
        client: storage.Client | None = None,
        signing_service_account: str = "",
    ) -> None:
        self.bucket = bucket
        self.signing_service_account = signing_service_account
        self._client = client

    @property
    def client(self) -> storage.Client:
        if self._client is None:
            self._client = storage_client()
        return self._client

    def _blob(self, key: str) -> storage.Blob:
        return self.client.bucket(self.bucket).blob(check_object_key(key))

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        blob = self._blob(key)
        blob.upload_from_string(data, content_type=content_type)
        return str(blob.generation)  # every write makes a new generation

    def get(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        blob = self._blob(key)
        try:
            data: bytes = blob.download_as_bytes()
        except NotFound as exc:
            raise ObjectNotFoundError(key) from exc
        except _transient_errors() as exc:
            raise StorageUnavailableError(key, type(exc).__name__) from exc
        return data

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        with contextlib.suppress(NotFound):  # already gone: deleting is idempotent
            self._blob(key).delete()

    def exists(self, key: str) -> bool:
        return bool(self._blob(key).exists())

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_seconds: int
    ) -> PresignedUpload:
        """A V4 signed ``PUT``. GCS itself refuses the upload after ``expires_seconds``,
        with another ``Content-Type``, or with a body outside 1..``max_bytes`` bytes
        (``x-goog-content-length-range``, signed): the client must send both headers
        exactly as returned."""
        blob = self._blob(key)
        headers = {"Content-Type": content_type, LENGTH_RANGE_HEADER: f"1,{max_bytes}"}
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_seconds)
        url = blob.generate_signed_url(
            version="v4",
            method="PUT",
            expiration=timedelta(seconds=expires_seconds),
            headers=dict(headers),  # the library adds Host to the dict it is given
            **self._signer(),
        )
        return PresignedUpload(
            url=url, method="PUT", expires_at=expires_at, max_bytes=max_bytes, headers=headers
        )

    def _signer(self) -> dict[str, Any]:
        """How ``generate_signed_url`` signs: with the credentials' own private key, or
        through IAM signBlob with a fresh access token when they hold none."""
        from google.auth.credentials import Signing
        from google.auth.transport.requests import Request

        credentials = self.client._credentials  # what the library itself signs with
        wanted = self.signing_service_account
        if isinstance(credentials, Signing) and wanted in ("", credentials.signer_email):
            return {}
        # Metadata-server credentials learn their email and token on refresh.
        if not credentials.valid:
            credentials.refresh(Request())
        email = wanted or getattr(credentials, "service_account_email", "")
        if not email or email == "default":
            raise RuntimeError(
                "No service account can sign upload URLs: set MLOPS_GCP_SIGNING_SERVICE_ACCOUNT."
            )
        return {"service_account_email": email, "access_token": credentials.token}


def download_artifact(uri: str, dest: Path, *, client: storage.Client | None = None) -> Path:
    """Copy the object at ``gs://bucket/path`` to ``dest``; raise ``ArtifactNotFoundError``."""
    from google.api_core.exceptions import NotFound

    parsed = urllib.parse.urlparse(uri)
    path = parsed.path.lstrip("/")
    if parsed.scheme != "gs" or not parsed.netloc or not path:
        raise ValueError(f"{uri!r} is not a gs://bucket/path URI.")
    blob = storage_client(client).bucket(parsed.netloc).blob(path)
    try:
        blob.download_to_filename(str(dest))
    except NotFound as exc:
        dest.unlink(missing_ok=True)
        raise ArtifactNotFoundError(uri) from exc
    return dest
