"""The local system over HTTP: a trained registry and `mlops serve` in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.trained import TrainedRegistry


class AppProcess:
    """``mlops serve`` on 127.0.0.1 and a free port, stopped (or killed) by the test."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "MLOPS_DATA_DIR": str(data_dir),
            "MLOPS_PORT": "0",
            "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
            **env,
        }
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout: float = 60) -> AppProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            self.output.append(line)
            match = re.search(r"Serving on (http://127\.0\.0\.1:\d+)", line)
            if match:
                self.url = match.group(1)
                # Keep draining the output so a chatty app never blocks on a full pipe.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("app did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def printed_commands(self, timeout: float = 5) -> list[str]:
        """The ``curl`` lines the start-up banner told the user to try."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not any("documents/<id" in x for x in self.output):
            time.sleep(0.05)
        text = "".join(self.output).replace("\\\n", " ")
        return [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def app_process(trained: TrainedRegistry) -> Iterator[AppProcess]:
    process = AppProcess(trained.data_dir).start()
    yield process
    process.stop()


@pytest.fixture
def client(app_process: AppProcess) -> Iterator[httpx.Client]:
    with app_process.client() as c:
        yield c


def wait_for_document(client: httpx.Client, doc_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/documents/{doc_id}").json()
        if body["status"] in {"done", "failed"}:
            return body
        time.sleep(0.25)
    raise AssertionError(f"document {doc_id} did not finish: {body}")
