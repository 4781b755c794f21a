"""Uploaded documents in an Azure Blob Storage container, and MLflow artifacts read from one.

In the cloud the client authenticates with ``DefaultAzureCredential`` (the workload's
managed identity, named by ``AZURE_CLIENT_ID``) and presigned uploads are *user-delegation*
SAS URLs, so no account key exists anywhere. A connection string is only for Azurite,
whose SAS URLs are then signed with its well-known account key.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.domain.documents import (
    ObjectNotFoundError,
    PresignedUpload,
    StorageUnavailableError,
    check_object_key,
)

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient, UserDelegationKey

# Blob storage answers these when it is the one in trouble; the read is worth retrying.
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
# A user-delegation key is valid for up to 7 days; one is asked for per this much time,
# not per upload URL (each request for one is a round trip to Entra-backed storage).
_DELEGATION_KEY_LIFETIME = timedelta(hours=6)
# Clocks drift: a key or SAS that starts "now" may be refused by a server a little behind.
_CLOCK_SKEW = timedelta(minutes=5)


def service_client(*, account_url: str = "", connection_string: str = "") -> BlobServiceClient:
    """A client of the storage account: from ``connection_string`` (Azurite) if given,
    else ``account_url`` with ``DefaultAzureCredential``."""
    try:
        from azure.storage.blob import BlobServiceClient
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The Azure adapters need azure-storage-blob: pip install 'mlops-multicloud[azure]'."
        ) from exc
    if connection_string:
        return BlobServiceClient.from_connection_string(connection_string)
    if not account_url:
        raise ValueError(
            "No storage account configured: set MLOPS_AZURE_STORAGE_ACCOUNT_URL"
            " (or MLOPS_AZURE_STORAGE_CONNECTION_STRING for Azurite)."
        )
    return BlobServiceClient(account_url, credential=default_credential())


def default_credential() -> Any:
    """``DefaultAzureCredential``, imported only when a client without a key is built."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The Azure adapters need azure-identity: pip install 'mlops-multicloud[azure]'."
        ) from exc
    return DefaultAzureCredential()


class BlobObjectStore:
    """Example::

    store = BlobObjectStore("uploads", account_url="https://mlopsdocs1a2b.blob.core.windows.net")
    version = store.put("uploads/8f0c", data, content_type="image/png")
    """

    def __init__(
        self,
        container: str,
        *,
        service: BlobServiceClient | None = None,
        account_url: str = "",
        connection_string: str = "",
    ) -> None:
        self.bucket = container
        self._service = service
        self._account_url = account_url
        self._connection_string = connection_string
        self._delegation_key: UserDelegationKey | None = None
        self._delegation_expiry = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    @property
    def service(self) -> BlobServiceClient:
        if self._service is None:
            self._service = service_client(
                account_url=self._account_url, connection_string=self._connection_string
            )
        return self._service

    def _blob(self, key: str) -> BlobClient:
        return self.service.get_blob_client(self.bucket, check_object_key(key))

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        from azure.storage.blob import ContentSettings

        answer = self._blob(key).upload_blob(
            data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
        )
        # The ETag, not a version id: it is what Event Grid's BlobCreated names (data.eTag),
        # so an upload and its event carry the same idempotency key.
        return str(answer["etag"]).strip('"')

    def get(self, key: str) -> bytes:
        blob = self._blob(key)
        with _translated(key):
            return blob.download_blob().readall()

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self._blob(key)
        with contextlib.suppress(ResourceNotFoundError):
            blob.delete_blob(delete_snapshots="include")

    def exists(self, key: str) -> bool:
        blob = self._blob(key)
        with _translated(key):
            return bool(blob.exists())

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_seconds: int
    ) -> PresignedUpload:
        """A SAS URL to ``PUT`` a block blob at ``key`` until it expires (create + write only).

        Azure enforces the key, the verb and the expiry. It does not enforce the size
        (a SAS has no content-length condition) nor the content type: the stored type is
        the ``Content-Type`` header the client sends, which ``headers`` names, and the
        SAS's own ``rsct`` would only override the type of reads through it. So the
        pipeline does not trust either: ``DecodeLimits.max_bytes`` refuses an oversized
        blob and the decoder reads the bytes' real format, whatever the stored type.
        """
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        blob = self._blob(key)
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_seconds)
        sas = generate_blob_sas(
            account_name=blob.account_name or "",
            container_name=self.bucket,
            blob_name=blob.blob_name,
            permission=BlobSasPermissions(create=True, write=True),
            expiry=expires_at,
            protocol=None if blob.url.startswith("http://") else "https",
            **self._signing_key(expires_at),
        )
        return PresignedUpload(
            url=f"{blob.url}?{sas}",
            method="PUT",
            expires_at=expires_at,
            max_bytes=max_bytes,
            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": content_type},
        )

    def _signing_key(self, expires_at: datetime) -> dict[str, Any]:
        """``account_key`` for a client built from a connection string (Azurite), else a
        cached user-delegation key that outlives ``expires_at``."""
        account_key = getattr(self.service.credential, "account_key", None)
        if account_key:
            return {"account_key": account_key}
        with self._lock:
            if self._delegation_key is None or self._delegation_expiry < expires_at:
                now = datetime.now(UTC)
                expiry = max(now + _DELEGATION_KEY_LIFETIME, expires_at + _CLOCK_SKEW)
                self._delegation_key = self.service.get_user_delegation_key(
                    key_start_time=now - _CLOCK_SKEW, key_expiry_time=expiry
                )
                self._delegation_expiry = expiry
            return {"user_delegation_key": self._delegation_key}

    def download_artifact(self, uri: str, dest: Path) -> Path:
        """Copy the blob at ``uri`` (``wasbs://container@account.blob.core.windows.net/path``
        or ``https://account.blob.core.windows.net/container/path``) to ``dest``; raise
        ``ArtifactNotFoundError`` if absent. Another account than this store's is read
        with the same credential."""
        return _download(self.service, uri, dest)


def download_artifact(uri: str, dest: Path, *, connection_string: str = "") -> Path:
    """:meth:`BlobObjectStore.download_artifact` without a store: the account named by
    ``uri`` with ``DefaultAzureCredential``, or the emulator of ``connection_string``
    (default: ``AZURE_STORAGE_CONNECTION_STRING``, the variable MLflow's own ``wasbs://``
    store honours, so a model is read from where training wrote it)."""
    location = parse_blob_uri(uri)
    connection_string = connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    account_url = "" if connection_string else f"https://{location.account}.{location.suffix}"
    return _download(_shared_client(account_url, connection_string), uri, dest)


@functools.cache
def _shared_client(account_url: str, connection_string: str) -> BlobServiceClient:
    """One client (and credential, with its token cache) per account for the process:
    loading a model reads four or five artifacts."""
    return service_client(account_url=account_url, connection_string=connection_string)


@dataclass(frozen=True)
class BlobLocation:
    account: str
    container: str
    path: str
    suffix: str = "blob.core.windows.net"  # other clouds: blob.core.chinacloudapi.cn, ...


def parse_blob_uri(uri: str) -> BlobLocation:
    """Where a ``wasbs://`` (MLflow's artifact URIs) or ``https://`` blob URI points."""
    parsed = urllib.parse.urlparse(uri)
    path = urllib.parse.unquote(parsed.path).lstrip("/")
    if parsed.scheme == "wasbs" and "@" in parsed.netloc:
        container, _, host = parsed.netloc.partition("@")
        account, _, suffix = host.partition(".")
        if account and suffix.startswith("blob.") and path:
            return BlobLocation(account, container, path, suffix)
    elif parsed.scheme == "https" and ".blob." in parsed.netloc:
        account, _, suffix = parsed.netloc.partition(".")
        container, _, blob = path.partition("/")
        if blob:
            return BlobLocation(account, container, blob, suffix)
    raise ValueError(
        f"{uri!r} is not a blob URI: use wasbs://<container>@<account>.blob.core.windows.net/<path>"
        " or https://<account>.blob.core.windows.net/<container>/<path>."
    )


def _download(service: BlobServiceClient, uri: str, dest: Path) -> Path:
    from app.domain.models import ArtifactNotFoundError

    location = parse_blob_uri(uri)
    if location.account != service.account_name:
        # Same credential, another account (an artifacts account apart from the uploads one).
        service = type(service)(
            f"https://{location.account}.{location.suffix}", credential=service.credential
        )
    blob = service.get_blob_client(location.container, location.path)
    try:
        with _translated(location.path):
            stream = blob.download_blob()  # raises here when the blob is absent
            with dest.open("wb") as out:
                stream.readinto(out)
    except ObjectNotFoundError as exc:
        raise ArtifactNotFoundError(uri) from exc
    return dest


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """Azure's errors as the domain's: an absent blob, or storage worth retrying."""
    from azure.core.exceptions import (
        HttpResponseError,
        IncompleteReadError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        yield
    except ResourceNotFoundError as exc:
        if getattr(exc, "error_code", None) == "ContainerNotFound":
            raise  # a misconfigured container is not a missing document
        raise ObjectNotFoundError(key) from exc
    except (ServiceRequestError, ServiceResponseError, IncompleteReadError) as exc:
        # Connection refused or reset, read timeout, a body cut short.
        raise StorageUnavailableError(key, type(exc).__name__) from exc
    except HttpResponseError as exc:
        if exc.status_code in _TRANSIENT_STATUS:
            # The storage SDK adds error_code (a StorageErrorCode enum) to the errors it raises.
            code = getattr(exc, "error_code", None)
            code = getattr(code, "value", code)
            raise StorageUnavailableError(key, str(code or exc.status_code)) from exc
        raise
