"""The Firestore emulator (Google's Java server), one process per test session.

The emulator ships in the machine image (the ``google-cloud-cli-firestore-emulator``
Debian package: ``/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator``) and needs
``java``; ``MLOPS_FIRESTORE_EMULATOR_JAR`` points elsewhere. Without it the tests that
need it are skipped with the reason, or fail when ``CI=true``.

Registered as a pytest plugin (``firestore_emulator`` fixture); the factories of the
shared suite also reach it through :func:`shared_emulator` when no fixture is passed.
Nothing is set in the environment: :meth:`FirestoreEmulator.client` builds clients
pointed at it, each on a project of its own, so every test starts on an empty database.

What it emulates: documents, ``create``/``update`` preconditions, batches,
transactions (with locks and "Transaction lock timeout" aborts), queries. What it does
not: composite index requirements (any query is served, so the indexes the adapter
documents are checked in tests/cloud/gcp/test_firestore.py by a query audit), TTL
deletion, IAM.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import pytest

if TYPE_CHECKING:
    from google.cloud import firestore

DEFAULT_JAR = Path(
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
)
_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
_START_SECONDS = 60


@dataclass(frozen=True)
class FirestoreEmulator:
    host: str  # 127.0.0.1:<port>

    def client(self, project: str | None = None) -> firestore.Client:
        """A client of the emulator on ``project`` (a new, empty one by default)."""
        from google.cloud import firestore

        # The client reads the emulator's address once, when it is built.
        with mock.patch.dict(os.environ, {"FIRESTORE_EMULATOR_HOST": self.host}):
            return firestore.Client(project=project or f"test-{uuid.uuid4().hex[:12]}")


_lock = threading.Lock()
_running: FirestoreEmulator | None = None


def _jar() -> Path | None:
    jar = Path(os.environ.get("MLOPS_FIRESTORE_EMULATOR_JAR") or DEFAULT_JAR)
    return jar if jar.is_file() and shutil.which("java") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(jar: Path, attempts: int = 3) -> FirestoreEmulator:
    """Start the emulator on a free port (another may take the port between the probe
    and the bind: then try another)."""
    log = Path(tempfile.mkdtemp(prefix="firestore-emulator-")) / "emulator.log"
    for _ in range(attempts):
        port = _free_port()
        with log.open("ab") as output:
            process = subprocess.Popen(
                [
                    *("java", "-Duser.language=en", "-cp", str(jar), _MAIN_CLASS, "start"),
                    *("--host=127.0.0.1", f"--port={port}"),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        atexit.register(_stop, process)
        if _answers(process, port):
            return FirestoreEmulator(f"127.0.0.1:{port}")
        _stop(process)
    raise RuntimeError(f"the Firestore emulator did not start; its output is in {log}")


def _answers(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def shared_emulator() -> FirestoreEmulator:
    """The session's emulator, started on first use; skips (fails on CI) without it."""
    global _running
    with _lock:
        if _running is None:
            jar = _jar()
            if jar is None:
                wanted = os.environ.get("MLOPS_FIRESTORE_EMULATOR_JAR") or DEFAULT_JAR
                reason = (
                    f"the Firestore emulator is not installed ({wanted} and java): install"
                    " the google-cloud-cli-firestore-emulator package"
                )
                if os.environ.get("CI") == "true":
                    pytest.fail(reason)
                pytest.skip(reason)
            _running = _start(jar)
        return _running


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    yield shared_emulator()
