"""Training runs as local subprocesses of ``mlops train``, for the local embedded mode.

Each run is ``python -m app.cli train ... --report-json -`` in its own process group,
its output (the report line among it) in ``<jobs_dir>/<job id>/log.txt``; the run's
name is its pid. A thread waits for it and calls ``on_exit`` with the job id, so the
job is judged the moment it ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from app.domain.job_reports import exit_failure, log_lines, report_missing
from app.domain.jobs import JobStartError, RunPhase, RunState, TrainingJob

log = logging.getLogger(__name__)

_INTERRUPTED = "interrupted: the server stopped while this job ran; start a new one"


class SubprocessJobRunner:
    """A :class:`~app.ports.JobRunner` of child processes.

    Example::

        runner = SubprocessJobRunner(Path(".mlops/jobs"), env={"MLOPS_DATA_DIR": ...})
        run = runner.launch(job)                 # "48213", the pid
        runner.describe(job, run).phase          # RunPhase.RUNNING
    """

    service = "The server"
    run_noun = "job"
    log_grace_seconds = 0.0  # the log file is complete when the process has exited
    no_report = report_missing("the job's log")

    def __init__(
        self,
        jobs_dir: Path,
        *,
        env: Mapping[str, str],
        on_exit: Callable[[str], object] | None = None,
        program: Sequence[str] = (sys.executable, "-m", "app.cli"),
    ) -> None:
        self.jobs_dir = jobs_dir
        self.env = {**env, PARENT_ENV: str(os.getpid())}
        self.on_exit = on_exit
        self.program = list(program)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._started: dict[str, datetime] = {}
        self._ended: dict[str, datetime] = {}
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._guard = threading.Lock()  # between a run starting and the server stopping

    def launch(self, job: TrainingJob) -> str:
        folder = self.jobs_dir / job.id
        folder.mkdir(parents=True, exist_ok=True)
        command = [*self.program, *job.request.command()[1:]]
        with (folder / "log.txt").open("wb") as log_file, self._guard:
            if self._closing:
                raise JobStartError("mlops train stopped with the server")
            try:
                process = subprocess.Popen(
                    command,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    # Its own process group, so stopping the job stops its OCR workers too.
                    start_new_session=True,
                )
            except OSError as exc:
                raise JobStartError(f"could not start mlops train: {exc}") from exc
            self._processes[job.id] = process
            self._started[job.id] = datetime.now(UTC)
        thread = threading.Thread(
            target=self._wait, args=(job.id, process), name=f"training-job-{job.id[:8]}"
        )
        self._threads.append(thread)
        thread.start()
        return str(process.pid)

    def _wait(self, job_id: str, process: subprocess.Popen[bytes]) -> None:
        process.wait()
        self._ended[job_id] = datetime.now(UTC)
        if self.on_exit is not None:
            try:
                self.on_exit(job_id)
            except Exception:  # the next reader judges it
                log.exception("training job %s", job_id)

    def find(self, job: TrainingJob) -> str | None:
        return None  # a run is recorded in the same process that started it

    def describe(self, job: TrainingJob, run: str) -> RunState:
        lines = self.logs(job, run)
        process = self._processes.get(job.id)
        if process is None or str(process.pid) != run:
            return self._left_behind(int(run), lines)
        started = self._started.get(job.id)
        code = process.poll()
        if code is None:
            return RunState(RunPhase.RUNNING, lines, started_at=started)
        failure = None
        if code < 0:
            failure = f"mlops train stopped with the server: {lines[-1] if lines else 'no output'}"
        elif code > 0:
            failure = exit_failure(code, lines)
        ended = self._ended.get(job.id) or datetime.now(UTC)
        return RunState(RunPhase.ENDED, lines, started, ended, failure)

    def _left_behind(self, pid: int, lines: list[str]) -> RunState:
        """A run another server started: still running under a live server (another
        process on the same data dir), or what a killed server left, stopped now."""
        if _server_alive(pid):
            return RunState(RunPhase.RUNNING, lines)
        _stop_group(pid)
        return RunState(RunPhase.ENDED, lines, failure=_INTERRUPTED)

    def logs(self, job: TrainingJob, run: str) -> list[str]:
        return read_log(self.jobs_dir / job.id / "log.txt")

    def shutdown(self, timeout: float = 10) -> None:
        """Stop running jobs with the server; their records say so."""
        with self._guard:
            self._closing = True
            running = [p for p in self._processes.values() if p.poll() is None]
        for process in running:
            _stop_group(process.pid)
        for thread in self._threads:
            thread.join(timeout=timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every run started so far has ended and been judged (tests, CLI)."""
        for thread in list(self._threads):
            thread.join(timeout=timeout)


def read_log(path: Path) -> list[str]:
    """The last lines of a log file (its last 16 KiB, progress bars folded)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16_384))
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return log_lines(data)


PARENT_ENV = "MLOPS_JOB_SERVER_PID"


def die_with_server() -> None:
    """Called by ``mlops train`` when a server launched it: SIGTERM this process when
    the server dies, even by SIGKILL (Linux; elsewhere ``recover()`` stops the job at
    the next start). A server that died before this ran ends the job at once."""
    server = os.environ.get(PARENT_ENV)
    if not server:
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(server):
        raise SystemExit("mlops train: the server that started this job is gone.")


def _stop_group(pid: int) -> None:
    """SIGTERM the job's process group (the job and its OCR workers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)


def _server_alive(pid: int) -> bool:
    """Whether the job's ``mlops train`` runs, child of a live server (not an orphan)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    parent = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 1
    )
    return b"app.cli" in cmdline and b"train" in cmdline and parent != 1
