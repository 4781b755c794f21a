"""Run a benchmark in a temporary work dir, removed afterwards (unless kept), with
SIGTERM and Ctrl-C both unwinding through the benchmark's own clean-up."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def in_workdir(prefix: str, run: Callable[[Path], int], *, keep: bool = False) -> int:
    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # so the finally blocks stop the servers and clean up

    signal.signal(signal.SIGTERM, terminated)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return run(work)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
