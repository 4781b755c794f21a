"""AWS services emulated by one moto server per session, and a model registered
the way the cloud does it: MLflow metadata, artifacts in the S3 artifacts bucket.

Every boto3 client of the process (the adapters', MLflow's S3 artifact store) and
of its subprocesses reaches the server through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.training.train import TrainingReport, TrainingRequest, train

REGION = "eu-west-3"
ARTIFACTS_BUCKET = "mlops-artifacts"

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass(frozen=True)
class MotoServer:
    endpoint: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in [*_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(_ENV, AWS_ENDPOINT_URL=endpoint)
    try:
        yield MotoServer(endpoint)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@dataclass(frozen=True)
class S3Registry:
    """A registry whose champion's artifacts live in the emulated S3 bucket."""

    tracking_uri: str
    artifact_root: str
    data_dir: Path
    report: TrainingReport
    model_name: str = "document-classifier"


@pytest.fixture(scope="session")
def s3_registry(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> S3Registry:
    from app.settings import load_settings

    s3 = moto_server.client("s3")
    s3.create_bucket(
        Bucket=ARTIFACTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    data_dir = tmp_path_factory.mktemp("aws-registry")
    artifact_root = f"s3://{ARTIFACTS_BUCKET}/mlflow"
    settings = load_settings(data_dir=data_dir, mlflow_artifact_root=artifact_root)
    report = train(
        settings,
        TrainingRequest(generate_per_class=30, heldout_per_class=1, progress=False),
    )
    return S3Registry(
        tracking_uri=settings.tracking_uri,
        artifact_root=artifact_root,
        data_dir=data_dir,
        report=report,
    )


@dataclass(frozen=True)
class MlflowServer:
    """``mlflow server`` over the S3 registry, as the cloud runs it (``--static-prefix
    /mlflow``, artifacts not proxied: clients read the bucket themselves)."""

    tracking_uri: str
    model_name: str


@pytest.fixture(scope="session")
def mlflow_server(s3_registry: S3Registry) -> Iterator[MlflowServer]:
    import re
    import subprocess
    import sys
    import threading
    import time

    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", s3_registry.tracking_uri,
        "--default-artifact-root", s3_registry.artifact_root,
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
        yield MlflowServer(f"{found[0]}/mlflow", s3_registry.model_name)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
