"""Azurite's Blob service for the session: a pytest plugin providing the ``azurite`` fixture.

Azurite (npm ``azurite@3``) is installed into ``.tools`` by ``make install``; it listens on
127.0.0.1 on a port the OS picks (``--blobPort 0``; the port is read from its start line),
keeps everything in memory (``--inMemoryPersistence``; its working directory is a temporary
one all the same) and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
AZURITE_BLOB = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"
MISSING = "Azurite is not installed: run `make install` (installs Azurite into .tools)."

# Azurite's one built-in account; its key is published in Azurite's documentation.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_LISTENING = re.compile(r"Blob service (?:is )?successfully listens on (http://127\.0\.0\.1:\d+)")


@dataclass(frozen=True)
class Azurite:
    blob_endpoint: str  # http://127.0.0.1:<port>/devstoreaccount1
    account_name: str = ACCOUNT_NAME
    account_key: str = ACCOUNT_KEY

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.blob_endpoint};"
        )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    require(AZURITE_BLOB)
    workspace = tmp_path_factory.mktemp("azurite")
    command = [
        str(AZURITE_BLOB),
        "--blobHost", "127.0.0.1", "--blobPort", "0",
        "--inMemoryPersistence", "--disableTelemetry", "--silent",
        # The SDK may speak a newer API version than this Azurite knows.
        "--skipApiVersionCheck",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    endpoint, lines = _wait_for_endpoint(process)
    if endpoint is None:
        process.kill()
        process.wait()
        raise RuntimeError("Azurite did not start:\n" + "".join(lines))
    try:
        yield Azurite(blob_endpoint=f"{endpoint}/{ACCOUNT_NAME}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def require(binary: Path) -> None:
    """Fail without ``binary`` in CI (a skipped emulator must not pass a build), else skip."""
    if not binary.exists():
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)


def _wait_for_endpoint(process: subprocess.Popen[str]) -> tuple[str | None, deque[str]]:
    """Azurite's URL once its start line says it listens (its output keeps being drained,
    so it can never block on a full pipe)."""
    found: list[str] = []
    lines: deque[str] = deque(maxlen=50)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = _LISTENING.search(line)
            if match:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return (found[0] if found else None), lines
