"""The fault-injection suite: each test breaks one thing under a running app, then says
what happened in one row of the table printed at the end of the run.

A fault test asserts three things: nothing accepted is lost, the status a person sees is
readable (a 503 with words, a ``failed`` document with a reason, ``/health`` naming the
problem), and the app recovers without a restart where the platform allows it.
``make test`` runs the fast settings; ``make faults`` runs longer outages and more
kill points (``MLOPS_FAULTS_LONG=1``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

LONG = os.environ.get("MLOPS_FAULTS_LONG") == "1"
OUTCOMES: list[tuple[str, str]] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not OUTCOMES:
        return
    width = max(len(fault) for fault, _ in OUTCOMES)
    terminalreporter.write_sep("-", "faults injected")
    terminalreporter.write_line(f"{'fault'.ljust(width)}  outcome")
    for fault, outcome in OUTCOMES:
        terminalreporter.write_line(f"{fault.ljust(width)}  {outcome}")


@pytest.fixture
def outcome() -> Callable[[str, str], None]:
    """Record one row of the summary table (call it once the assertions passed)."""
    return lambda fault, text: OUTCOMES.append((fault, text))


class SmallDisk:
    """A tmpfs of a few MiB that a test can fill and free: a real ENOSPC, for SQLite
    and the object store alike."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._filler = root / f".filler-{uuid.uuid4().hex}"

    def fill(self) -> None:
        """Take every free byte (the next write anywhere on this disk fails)."""
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 1):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * size)
        finally:
            os.close(fd)

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)

    def is_full(self) -> bool:
        try:
            with (self.root / ".probe").open("wb") as fh:
                fh.write(b"\0" * 4096)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            return exc.errno == errno.ENOSPC
        finally:
            (self.root / ".probe").unlink(missing_ok=True)
        return False


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    root = tmp_path / "disk"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = f"a small tmpfs could not be mounted ({mounted.stderr.strip()}): run as root"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")
