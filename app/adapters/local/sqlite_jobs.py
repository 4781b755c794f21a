"""Training job records in SQLite, for the local embedded mode.

One table, ``training_jobs``. The start lock is the table itself: the jobs holding it
are those queued or running, and the cool-down counts from the newest automatic job;
a ``BEGIN IMMEDIATE`` transaction makes the check and the insert one step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from app.adapters.local.sqlite import SqliteDatabase
from app.domain.jobs import (
    JobLock,
    JobNotFoundError,
    JobReason,
    JobRecord,
    JobStatus,
    TrainingJob,
    TrainingJobRequest,
)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS training_jobs (
    id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    run TEXT,
    model_version TEXT,
    promoted INTEGER,
    error TEXT,
    log_tail TEXT
)""",
    "CREATE INDEX IF NOT EXISTS training_jobs_created ON training_jobs(created_at)",
)
# Columns a data dir of an earlier version lacks (it kept the run's pid in ``pid``).
_ADDED = {"run": "TEXT", "log_tail": "TEXT"}
_ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class SqliteJobStore:
    """A :class:`~app.ports.JobStore` in the local SQLite database.

    Example::

        store = SqliteJobStore(SqliteDatabase(Path(".mlops/records.sqlite3")))
        store.create(job, cooldown_since=None)
    """

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        with db.connect() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            have = {row["name"] for row in conn.execute("PRAGMA table_info(training_jobs)")}
            for column, kind in _ADDED.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE training_jobs ADD COLUMN {column} {kind}")

    def create(self, job: TrainingJob, *, cooldown_since: datetime | None) -> JobRecord | None:
        with self.db.connect() as conn:
            if cooldown_since is not None:
                busy = conn.execute(
                    "SELECT 1 FROM training_jobs WHERE status IN (?, ?)"
                    " OR (reason != ? AND created_at > ?) LIMIT 1",
                    (*_ACTIVE, JobReason.MANUAL.value, cooldown_since.timestamp()),
                ).fetchone()
                if busy is not None:
                    return None
            conn.execute(
                "INSERT INTO training_jobs (id, reason, request, status, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.request.reason.value,
                    job.request.to_json(),
                    job.status.value,
                    job.created_at.timestamp(),
                ),
            )
        return self.get(job.id)

    def get(self, job_id: str) -> JobRecord:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM training_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return _record(row)

    def list(self, limit: int) -> Sequence[JobRecord]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM training_jobs ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_record(row) for row in rows]

    def lock(self) -> JobLock:
        with self.db.connect() as conn:
            active = conn.execute(
                "SELECT id FROM training_jobs WHERE status IN (?, ?) ORDER BY created_at", _ACTIVE
            ).fetchall()
            (automatic_at,) = conn.execute(
                "SELECT MAX(created_at) FROM training_jobs WHERE reason != ?",
                (JobReason.MANUAL.value,),
            ).fetchone()
        return JobLock(tuple(row["id"] for row in active), _stamp(automatic_at))

    def set_run(self, job_id: str, run: str) -> None:
        with self.db.connect() as conn:
            conn.execute("UPDATE training_jobs SET run = ? WHERE id = ?", (run, job_id))

    def mark_running(self, job_id: str, started_at: datetime) -> None:
        with self.db.connect() as conn:
            conn.execute(
                "UPDATE training_jobs SET status = ?, started_at = ? WHERE id = ? AND status = ?",
                (JobStatus.RUNNING.value, started_at.timestamp(), job_id, JobStatus.QUEUED.value),
            )

    def finish(self, job: TrainingJob) -> TrainingJob | None:
        with self.db.connect() as conn:
            cursor = conn.execute(
                "UPDATE training_jobs SET status = ?, started_at = ?, finished_at = ?,"
                " model_version = ?, promoted = ?, error = ?, log_tail = ?"
                " WHERE id = ? AND status IN (?, ?)",
                (
                    job.status.value,
                    job.started_at.timestamp() if job.started_at else None,
                    job.finished_at.timestamp() if job.finished_at else None,
                    job.model_version,
                    None if job.promoted is None else int(job.promoted),
                    job.error,
                    job.log_tail,
                    job.id,
                    *_ACTIVE,
                ),
            )
        return self.get(job.id).job if cursor.rowcount else None

    def release(self, job_id: str) -> None:
        """Nothing to do: a job holds the lock by its status, and an absent one cannot."""


def _stamp(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _record(row: sqlite3.Row) -> JobRecord:
    job = TrainingJob(
        id=row["id"],
        request=TrainingJobRequest.from_json(row["request"]),
        status=JobStatus(row["status"]),
        created_at=_stamp(row["created_at"]) or datetime.now(UTC),
        started_at=_stamp(row["started_at"]),
        finished_at=_stamp(row["finished_at"]),
        model_version=row["model_version"],
        promoted=None if row["promoted"] is None else bool(row["promoted"]),
        error=row["error"],
        log_tail=row["log_tail"] or "",
    )
    return JobRecord(job, row["run"])
