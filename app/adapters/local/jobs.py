"""Training jobs as local subprocesses of ``mlops train``, tracked in SQLite."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from app.adapters.local.sqlite import SqliteDatabase
from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJob, TrainingJobRequest

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20
_ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def _stamp(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file (progress bars' carriage returns folded)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16_384))
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    rows = [line.rsplit("\r", 1)[-1].rstrip() for line in data.split("\n")]
    return "\n".join([r for r in rows if r][-lines:])


class SubprocessJobLauncher:
    """A :class:`~app.ports.JobLauncher` for the local embedded mode.

    Each job runs ``python -m app.cli train ... --report-json <file>`` with its
    output in ``<jobs_dir>/<id>/log.txt``; a thread waits for it and records the
    outcome. ``on_finished`` lets the app refresh its model when a job promoted one.

    Example::

        launcher = SubprocessJobLauncher(db, Path(".mlops/jobs"), env={"MLOPS_DATA_DIR": ...})
        job = launcher.start(request)
    """

    def __init__(
        self,
        db: SqliteDatabase,
        jobs_dir: Path,
        *,
        env: Mapping[str, str],
        on_finished: Callable[[TrainingJob], None] | None = None,
        program: Sequence[str] = (sys.executable, "-m", "app.cli"),
    ) -> None:
        self.program = list(program)
        self.db = db
        self.jobs_dir = jobs_dir
        self.env = {**env, PARENT_ENV: str(os.getpid())}
        self.on_finished = on_finished
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._guard = threading.Lock()  # between a job starting and the server stopping

    def start(
        self, request: TrainingJobRequest, *, cooldown_seconds: float | None = None
    ) -> TrainingJob | None:
        job_id = uuid.uuid4().hex
        now = time.time()
        with self.db.connect() as conn:
            if cooldown_seconds is not None:
                busy = conn.execute(
                    "SELECT 1 FROM training_jobs WHERE status IN (?, ?)"
                    " OR (reason != ? AND created_at > ?) LIMIT 1",
                    (*_ACTIVE, JobReason.MANUAL.value, now - cooldown_seconds),
                ).fetchone()
                if busy is not None:
                    return None
            conn.execute(
                "INSERT INTO training_jobs (id, reason, request, status, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    job_id,
                    request.reason.value,
                    json.dumps(_request_to_dict(request)),
                    JobStatus.QUEUED.value,
                    now,
                ),
            )
        thread = threading.Thread(
            target=self._run, args=(job_id, request), name=f"training-job-{job_id[:8]}"
        )
        self._threads.append(thread)
        thread.start()
        return self.get(job_id)

    def _run(self, job_id: str, request: TrainingJobRequest) -> None:
        try:
            self._run_job(job_id, request)
        except Exception as exc:  # the record must never stay queued or running
            log.exception("training job %s", job_id)
            self._finish(job_id, JobStatus.FAILED, error=f"the job could not run: {exc}")

    def _run_job(self, job_id: str, request: TrainingJobRequest) -> None:
        folder = self.jobs_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        report_path = folder / "report.json"
        arguments = [*request.train_arguments(), "--report-json", str(report_path)]
        command = [*self.program, *arguments]
        with (folder / "log.txt").open("wb") as log_file:
            log_file.write(f"$ mlops {' '.join(arguments)}\n".encode())
            log_file.flush()
            with self._guard:
                if self._closing:
                    process = None
                else:
                    try:
                        process = subprocess.Popen(
                            command,
                            stdout=log_file,
                            stderr=subprocess.STDOUT,
                            env=self.env,
                            # Its own process group, so stopping the job stops its OCR
                            # workers too.
                            start_new_session=True,
                        )
                    except OSError as exc:
                        error = f"could not start mlops train: {exc}"
                        self._finish(job_id, JobStatus.FAILED, error=error)
                        return
                    self._processes[job_id] = process
            if process is None:
                self._finish(job_id, JobStatus.FAILED, error="mlops train stopped with the server")
                return
            self._update(
                job_id, status=JobStatus.RUNNING.value, started_at=time.time(), pid=process.pid
            )
            code = process.wait()
        self._processes.pop(job_id, None)
        if code == 0 and report_path.exists():
            report = json.loads(report_path.read_text())
            self._finish(
                job_id,
                JobStatus.SUCCEEDED,
                model_version=str(report["version"]),
                promoted=bool(report["promoted"]),
            )
        else:
            last = tail(folder / "log.txt", 1)
            reason = "stopped with the server" if code < 0 else f"exited with code {code}"
            self._finish(job_id, JobStatus.FAILED, error=f"mlops train {reason}: {last}")

    def _finish(self, job_id: str, status: JobStatus, **fields: object) -> None:
        if "promoted" in fields:
            fields["promoted"] = int(bool(fields["promoted"]))
        fields.setdefault("error", None)
        self._update(job_id, status=status.value, finished_at=time.time(), **fields)
        job = self.get(job_id)
        log.info("training job %s %s", job_id, status.value)
        if self.on_finished is not None:
            try:
                self.on_finished(job)
            except Exception:  # a listener's failure must not lose the record
                log.exception("after training job %s", job_id)

    def _update(self, job_id: str, **fields: object) -> None:
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.db.connect() as conn:
            conn.execute(
                f"UPDATE training_jobs SET {columns} WHERE id = ?",  # names are ours
                (*fields.values(), job_id),
            )

    def get(self, job_id: str) -> TrainingJob:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM training_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return self._to_job(row)

    def list(self, limit: int = 20) -> Sequence[TrainingJob]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM training_jobs ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [self._to_job(row) for row in rows]

    def recover(self) -> int:
        """Fail the jobs a killed server left queued or running, stopping what is left
        of them. A job whose ``mlops train`` still runs under a live server (another
        process on the same data dir) is left alone."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT id, pid FROM training_jobs WHERE status IN (?, ?)", _ACTIVE
            ).fetchall()
        failed = 0
        for row in rows:
            if row["pid"] and _server_alive(row["pid"]):
                continue
            if row["pid"]:
                _stop_group(row["pid"])
            with self.db.connect() as conn:
                cursor = conn.execute(
                    "UPDATE training_jobs SET status = ?, finished_at = ?, error = ?"
                    " WHERE id = ? AND status IN (?, ?)",
                    (
                        JobStatus.FAILED.value,
                        time.time(),
                        "interrupted: the server stopped while this job ran; start a new one",
                        row["id"],
                        *_ACTIVE,
                    ),
                )
            failed += cursor.rowcount
        return failed

    def shutdown(self, timeout: float = 10) -> None:
        """Stop running jobs with the server; their records say so."""
        with self._guard:
            self._closing = True
            running = list(self._processes.values())
        for process in running:
            _stop_group(process.pid)
        for thread in self._threads:
            thread.join(timeout=timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job started so far has finished (tests, CLI)."""
        for thread in list(self._threads):
            thread.join(timeout=timeout)

    def _to_job(self, row: sqlite3.Row) -> TrainingJob:
        return TrainingJob(
            id=row["id"],
            request=_request_from_dict(json.loads(row["request"])),
            status=JobStatus(row["status"]),
            created_at=_stamp(row["created_at"]) or datetime.now(UTC),
            started_at=_stamp(row["started_at"]),
            finished_at=_stamp(row["finished_at"]),
            model_version=row["model_version"],
            promoted=None if row["promoted"] is None else bool(row["promoted"]),
            error=row["error"],
            log_tail=tail(self.jobs_dir / row["id"] / "log.txt"),
        )


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


def _request_to_dict(request: TrainingJobRequest) -> dict[str, object]:
    return {
        "reason": request.reason.value,
        "requested_by": request.requested_by,
        "generate_per_class": request.generate_per_class,
        "heldout_per_class": request.heldout_per_class,
        "promote": request.promote,
        "include_feedback": request.include_feedback,
    }


def _request_from_dict(data: dict[str, object]) -> TrainingJobRequest:
    return TrainingJobRequest(
        reason=JobReason(str(data["reason"])),
        requested_by=str(data["requested_by"]),
        generate_per_class=int(data["generate_per_class"]),  # type: ignore[call-overload]
        heldout_per_class=int(data["heldout_per_class"]),  # type: ignore[call-overload]
        promote=str(data["promote"]),
        include_feedback=bool(data["include_feedback"]),
    )
