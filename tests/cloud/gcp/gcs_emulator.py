"""GCS emulated in-process by ``gcp-storage-emulator``, one server per session.

Registered as a pytest plugin (``pytest_plugins`` in tests/conftest.py). Nothing is set
in the environment: clients reach the server through ``client()`` (anonymous
credentials, ``api_endpoint`` = the server), so no other test sees an emulator.

What it emulates: buckets, objects with generations, uploads (media, multipart,
resumable, XML ``PUT``), downloads, deletes, 404s. What it does not: signatures of
signed URLs (any ``PUT /bucket/key`` is accepted, whatever its query string), the
``Content-Type`` and ``x-goog-content-length-range`` a signed URL binds, IAM, generation
preconditions (``ifGenerationMatch`` is ignored), and bucket notifications (no CloudEvent
is sent: tests build it from the object the emulator stored).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from google.cloud import storage


@dataclass(frozen=True)
class GcsEmulator:
    endpoint: str  # http://127.0.0.1:<port>
    project: str = "test"

    def client(self, credentials: Any = None) -> storage.Client:
        """A client of the emulator; anonymous unless ``credentials`` are given (a
        service account's, to sign URLs: the emulator checks no credentials)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=credentials or AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )


def _bound_port(server: Any) -> int:
    """The port the OS gave the server for port 0 (the emulator does not expose it)."""
    httpd = getattr(getattr(server, "_api", None), "_httpd", None)
    if httpd is None:
        raise RuntimeError("gcp-storage-emulator changed: cannot read the port it bound")
    return int(httpd.server_address[1])


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()  # returns once the socket is bound
    try:
        yield GcsEmulator(f"http://127.0.0.1:{_bound_port(server)}")
    finally:
        server.stop()
