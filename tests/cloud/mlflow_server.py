"""A model registry the way a cloud stack runs it, for the cloud tests: a model trained
as ``mlops train`` does it, MLflow metadata in a local store, artifacts in the emulated
bucket (S3 in moto, a blob container in Azurite), and a real ``mlflow server`` over it.

Each cloud's conftest makes the bucket and the artifact root, then calls these.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.training.train import TrainingReport, TrainingRequest, train

_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
_START_SECONDS = 180


@dataclass(frozen=True)
class TrainedRegistry:
    """A registry whose champion's artifacts live under ``artifact_root``."""

    tracking_uri: str
    artifact_root: str
    data_dir: Path
    report: TrainingReport
    model_name: str = "document-classifier"


def train_registry(data_dir: Path, artifact_root: str) -> TrainedRegistry:
    """Train a small model into a registry at ``data_dir`` with artifacts at ``artifact_root``."""
    from app.settings import load_settings

    settings = load_settings(data_dir=data_dir, mlflow_artifact_root=artifact_root)
    report = train(
        settings,
        TrainingRequest(generate_per_class=30, heldout_per_class=1, progress=False),
    )
    return TrainedRegistry(
        tracking_uri=settings.tracking_uri,
        artifact_root=artifact_root,
        data_dir=data_dir,
        report=report,
    )


@dataclass(frozen=True)
class MlflowServer:
    """``mlflow server`` over a registry, as the stacks run it (``--static-prefix /mlflow``,
    artifacts not proxied: clients read the bucket themselves)."""

    tracking_uri: str
    model_name: str


@contextlib.contextmanager
def running_mlflow_server(registry: TrainedRegistry) -> Iterator[MlflowServer]:
    """``mlflow server`` on a port the OS picks (read from its start line), stopped on exit."""
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", registry.tracking_uri,
        "--default-artifact-root", registry.artifact_root,
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
            match = _LISTENING.search(line)
            if match:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + _START_SECONDS
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if not found:
        process.kill()
        raise RuntimeError("mlflow server did not start:\n" + "".join(lines[-30:]))
    try:
        yield MlflowServer(f"{found[0]}/mlflow", registry.model_name)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
