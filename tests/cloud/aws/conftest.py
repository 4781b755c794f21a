"""AWS services emulated by one moto server per session, and a model registered
the way the cloud does it: MLflow metadata, artifacts in the S3 artifacts bucket.

Every boto3 client of the process (the adapters', MLflow's S3 artifact store) and
of its subprocesses reaches the server through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.cloud.mlflow_server import (
    MlflowServer,
    TrainedRegistry,
    running_mlflow_server,
    train_registry,
)

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


# A registry whose champion's artifacts live in the emulated S3 bucket.
S3Registry = TrainedRegistry


@pytest.fixture(scope="session")
def s3_registry(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> S3Registry:
    s3 = moto_server.client("s3")
    s3.create_bucket(
        Bucket=ARTIFACTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return train_registry(
        tmp_path_factory.mktemp("aws-registry"), f"s3://{ARTIFACTS_BUCKET}/mlflow"
    )


@pytest.fixture(scope="session")
def mlflow_server(s3_registry: S3Registry) -> Iterator[MlflowServer]:
    """``mlflow server`` over the S3 registry, as the AWS stack runs it."""
    with running_mlflow_server(s3_registry) as server:
        yield server
