"""A model registered the way the Azure stack does it: MLflow metadata, artifacts in the
``artifacts`` blob container (``wasbs://``), here in Azurite.

``AZURE_STORAGE_CONNECTION_STRING`` points MLflow's ``wasbs://`` store (training writes)
and ``app.adapters.azure.blob.download_artifact`` (the model loader reads) at Azurite for
the session, as ``AWS_ENDPOINT_URL`` points boto3 at moto in tests/cloud/aws.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cloud.azure.azurite import Azurite
from tests.cloud.mlflow_server import (
    MlflowServer,
    TrainedRegistry,
    running_mlflow_server,
    train_registry,
)

ARTIFACTS_CONTAINER = "artifacts"

# A registry whose champion's artifacts live in Azurite's artifacts container.
BlobRegistry = TrainedRegistry


@pytest.fixture(scope="session")
def azurite_env(azurite: Azurite) -> Iterator[Azurite]:
    """The session's Azurite as the storage of every Azure SDK client that reads the
    standard variable (MLflow's, the artifact loader's)."""
    saved = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    os.environ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
    try:
        yield azurite
    finally:
        if saved is None:
            os.environ.pop("AZURE_STORAGE_CONNECTION_STRING", None)
        else:
            os.environ["AZURE_STORAGE_CONNECTION_STRING"] = saved


@pytest.fixture(scope="session")
def blob_registry(azurite_env: Azurite, tmp_path_factory: pytest.TempPathFactory) -> BlobRegistry:
    from app.adapters.azure.blob import service_client

    service_client(connection_string=azurite_env.connection_string).create_container(
        ARTIFACTS_CONTAINER
    )
    artifact_root = (
        f"wasbs://{ARTIFACTS_CONTAINER}@{azurite_env.account_name}.blob.core.windows.net/mlflow"
    )
    return train_registry(tmp_path_factory.mktemp("azure-registry"), artifact_root)


@pytest.fixture(scope="session")
def blob_mlflow_server(blob_registry: BlobRegistry) -> Iterator[MlflowServer]:
    """``mlflow server`` over the blob registry, as the Azure stack runs it."""
    with running_mlflow_server(blob_registry) as server:
        yield server
