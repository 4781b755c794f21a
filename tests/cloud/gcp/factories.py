"""Factories of the GCP adapters for the shared behaviour suite (tests/ports).

Each takes ``(tmp_path, service)``: ``service`` is the value of the emulator fixture
tests/ports/conftest.py names for it (or None).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.adapters.gcp.gcs import GcsObjectStore
    from tests.cloud.gcp.gcs_emulator import GcsEmulator

TEST_SERVICE_ACCOUNT = "uploads-signer@test.iam.gserviceaccount.com"


@functools.cache
def _throwaway_key_pem() -> str:
    """An RSA key made for this test run; no real key is ever in the repo."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def signing_credentials() -> Any:
    """Service-account credentials that sign URLs locally with the throw-away key and
    never ask Google for a token (the emulator checks none)."""
    from google.oauth2 import service_account

    class OfflineServiceAccount(service_account.Credentials):
        def refresh(self, request: Any) -> None:
            self.token = "emulator-token"
            self.expiry = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None)

    return OfflineServiceAccount.from_service_account_info(
        {
            "type": "service_account",
            "client_email": TEST_SERVICE_ACCOUNT,
            "private_key": _throwaway_key_pem(),
            "token_uri": "https://oauth2.googleapis.com/token",  # never called
        }
    )


def gcs_store(tmp: Path, gcs_emulator: GcsEmulator) -> GcsObjectStore:
    """A store on a fresh bucket of the emulator, able to sign upload URLs."""
    from app.adapters.gcp.gcs import GcsObjectStore

    client = gcs_emulator.client(signing_credentials())
    bucket = client.create_bucket(f"uploads-{abs(hash(tmp)) % 10**8}")
    return GcsObjectStore(bucket.name, client=client)


def _firestore(service: Any) -> Any:
    """A client on an empty project of the Firestore emulator (``service`` is the
    ``firestore_emulator`` fixture's value, or None: then the session's emulator)."""
    from tests.cloud.gcp.firestore_emulator import shared_emulator

    return (service or shared_emulator()).client()


def firestore_records(tmp: Path, service: Any = None) -> Any:
    from app.adapters.gcp.firestore import FirestoreDocumentRecords

    return FirestoreDocumentRecords(_firestore(service))


def firestore_feedback(tmp: Path, service: Any = None) -> Any:
    from app.adapters.gcp.firestore import FirestoreFeedbackStore

    return FirestoreFeedbackStore(_firestore(service))


def firestore_ledgers(tmp: Path, service: Any = None) -> Any:
    """A maker of ``FirestoreEventLedger`` s (one per process) on one empty project."""
    from app.adapters.gcp.firestore import FirestoreEventLedger

    client = _firestore(service)
    return lambda: FirestoreEventLedger(client)


def firestore_jobs(tmp: Path, service: Any = None) -> Any:
    from app.adapters.gcp.firestore_jobs import FirestoreJobStore

    return FirestoreJobStore(_firestore(service))


def cloud_run_runner(tmp: Path, service: Any = None) -> Any:
    """A runner on a fake Cloud Run (fake_cloud_run.py: tests/ports/fake_train.py stands
    in for ``mlops``); ``shutdown()`` stops its runs."""
    from app.adapters.gcp.cloud_run_jobs import CloudRunJobRunner
    from tests.cloud.gcp.fake_cloud_run import CloudRunWorld

    world = CloudRunWorld()
    runner = CloudRunJobRunner(**world.runner_arguments())
    runner.shutdown = world.stop  # type: ignore[attr-defined]
    return runner
