"""Training job records in SQLite, for the local embedded mode.

One table, ``training_jobs``. The start lock is the table itself: the jobs holding it
are those queued or running, and the cool-down counts from the newest automatic job;
a ``BEGIN IMMEDIATE`` transaction makes the check and the insert one step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.adapters.job_fields import WRITTEN_ONCE, epoch_datetime, job_fields, job_record
from app.adapters.local.sqlite import SqliteDatabase
from app.domain.jobs import JobLock, JobNotFoundError, JobReason, JobRecord, JobStatus, TrainingJob

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
        automatic = epoch_datetime(automatic_at) if automatic_at is not None else None
        return JobLock(tuple(row["id"] for row in active), automatic)

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
        values = {k: v for k, v in _fields(job).items() if k not in WRITTEN_ONCE}
        columns = ", ".join(f"{name} = ?" for name in values)  # names are ours
        with self.db.connect() as conn:
            cursor = conn.execute(
                f"UPDATE training_jobs SET {columns} WHERE id = ? AND status IN (?, ?)",
                (*values.values(), job.id, *_ACTIVE),
            )
        return self.get(job.id).job if cursor.rowcount else None

    def release(self, job_id: str) -> None:
        """Nothing to do: a job holds the lock by its status, and an absent one cannot."""


def _fields(job: TrainingJob) -> dict[str, Any]:
    return job_fields(job, stamp=datetime.timestamp)


def _record(row: sqlite3.Row) -> JobRecord:
    return job_record(dict(row), when=epoch_datetime)
