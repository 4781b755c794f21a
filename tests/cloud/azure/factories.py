"""Azure adapters for the shared behaviour suite (tests/ports): each factory takes the test's
``tmp_path`` and the value of its emulator fixture (tests/ports/conftest.py SERVICE_FIXTURES)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cloud.azure.azurite import Azurite


def blob_store(tmp: Path, azurite: Azurite) -> object:
    """A ``BlobObjectStore`` on a fresh container of the session's Azurite."""
    from app.adapters.azure.blob import BlobObjectStore, service_client

    service = service_client(connection_string=azurite.connection_string)
    container = f"uploads-{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    return BlobObjectStore(container, service=service)


# Cosmos DB has no emulator here: the Cosmos adapters run on the fake account of
# fake_cosmos.py (atomic conditional writes, partition keys, etags, TTL).


def cosmos_records(tmp: Path, _: object) -> object:
    """``CosmosDocumentRecords`` on a fresh fake Cosmos account."""
    from app.adapters.azure.cosmos import CosmosDocumentRecords
    from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase

    return CosmosDocumentRecords(FakeCosmosDatabase())


def cosmos_feedback(tmp: Path, _: object) -> object:
    """``CosmosFeedbackStore`` on a fresh fake Cosmos account."""
    from app.adapters.azure.cosmos import CosmosFeedbackStore
    from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase

    return CosmosFeedbackStore(FakeCosmosDatabase())


def cosmos_ledgers(tmp: Path, _: object) -> object:
    """A maker of ``CosmosEventLedger`` s (one per process) on one fresh fake Cosmos account."""
    from app.adapters.azure.cosmos import CosmosEventLedger
    from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase

    database = FakeCosmosDatabase()
    return lambda: CosmosEventLedger(database)


def cosmos_jobs(tmp: Path, _: object) -> object:
    """``CosmosJobStore`` on a fresh fake Cosmos account."""
    from app.adapters.azure.cosmos_jobs import CosmosJobStore
    from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase

    return CosmosJobStore(FakeCosmosDatabase())


def container_apps_runner(tmp: Path, _: object) -> object:
    """``ContainerAppsJobRunner`` on fake Container Apps whose executions run
    fake_train.py; ``shutdown()`` stops what still runs after the test."""
    from app.adapters.azure.container_apps import ContainerAppsJobRunner
    from tests.cloud.azure.fake_container_apps import FakeContainerApps

    apps = FakeContainerApps()
    runner = ContainerAppsJobRunner(**apps.runner_arguments())
    runner.shutdown = apps.shutdown  # type: ignore[attr-defined]
    return runner
