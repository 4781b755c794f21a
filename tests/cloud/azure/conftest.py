"""A model registered the way the Azure stack does it: MLflow metadata, artifacts in the
``artifacts`` blob container (``wasbs://``), here in Azurite.

``AZURE_STORAGE_CONNECTION_STRING`` points MLflow's ``wasbs://`` store (training writes)
and ``app.adapters.azure.blob.download_artifact`` (the model loader reads) at Azurite for
the session, as ``AWS_ENDPOINT_URL`` points boto3 at moto in tests/cloud/aws.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.training.train import TrainingReport, TrainingRequest, train
from tests.cloud.azure.azurite import Azurite

ARTIFACTS_CONTAINER = "artifacts"


@dataclass(frozen=True)
class BlobRegistry:
    """A registry whose champion's artifacts live in Azurite's artifacts container."""

    tracking_uri: str
    artifact_root: str
    data_dir: Path
    report: TrainingReport
    model_name: str = "document-classifier"


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
    from app.settings import load_settings

    service_client(connection_string=azurite_env.connection_string).create_container(
        ARTIFACTS_CONTAINER
    )
    data_dir = tmp_path_factory.mktemp("azure-registry")
    artifact_root = (
        f"wasbs://{ARTIFACTS_CONTAINER}@{azurite_env.account_name}.blob.core.windows.net/mlflow"
    )
    settings = load_settings(data_dir=data_dir, mlflow_artifact_root=artifact_root)
    report = train(
        settings,
        TrainingRequest(generate_per_class=30, heldout_per_class=1, progress=False),
    )
    return BlobRegistry(
        tracking_uri=settings.tracking_uri,
        artifact_root=artifact_root,
        data_dir=data_dir,
        report=report,
    )


@dataclass(frozen=True)
class MlflowServer:
    """``mlflow server`` over the blob registry, as the Azure stack runs it (``--static-prefix
    /mlflow``, artifacts not proxied: clients read the artifacts container themselves)."""

    tracking_uri: str
    model_name: str


@pytest.fixture(scope="session")
def blob_mlflow_server(blob_registry: BlobRegistry) -> Iterator[MlflowServer]:
    import re
    import subprocess
    import sys
    import threading
    import time

    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", blob_registry.tracking_uri,
        "--default-artifact-root", blob_registry.artifact_root,
        "--no-serve-artifacts", "--static-prefix", "/mlflow",
        "--host", "127.0.0.1", "--port", "0", "--workers", "1",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found: list[str] = []
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if match:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 180
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if not found:
        process.kill()
        raise RuntimeError("mlflow server did not start:\n" + "".join(lines[-30:]))
    try:
        yield MlflowServer(f"{found[0]}/mlflow", blob_registry.model_name)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
