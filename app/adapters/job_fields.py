"""The fields every job store keeps, and the job records read back from them.

Each store names how it keeps times (``stamp`` writes one, ``when`` reads it back);
the field names and the record built from them are the same everywhere: the request
as JSON text, unset fields left out, the run's name under ``run``. No I/O and no SDK.

Example::

    fields = job_fields(job, stamp=datetime.timestamp)   # {"id": ..., "created_at": 1.7e9}
    record = job_record(stored, when=epoch_datetime)     # JobRecord(job=TrainingJob(...))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.domain.jobs import JobRecord, JobStatus, TrainingJob, TrainingJobRequest

# What a finish leaves as the create wrote it.
WRITTEN_ONCE = frozenset({"id", "request", "created_at"})
_TIMES = ("created_at", "started_at", "finished_at")


def job_fields(job: TrainingJob, *, stamp: Callable[[datetime], Any]) -> dict[str, Any]:
    """The job as a store keeps it; times through ``stamp``, unset fields left out."""
    fields: dict[str, Any] = {
        "id": job.id,
        "request": job.request.to_json(),
        "status": job.status.value,
        **{name: stamp(getattr(job, name)) for name in _TIMES if getattr(job, name)},
        "model_version": job.model_version,
        "promoted": job.promoted,
        "error": job.error,
        "log_tail": job.log_tail or None,
    }
    return {name: value for name, value in fields.items() if value is not None}


def job_record(fields: Mapping[str, Any], *, when: Callable[[Any], datetime]) -> JobRecord:
    """The record a store keeps as ``fields`` (times read by ``when``)."""

    def time(name: str) -> datetime | None:
        value = fields.get(name)
        return when(value) if value is not None else None

    promoted = fields.get("promoted")
    job = TrainingJob(
        id=fields["id"],
        request=TrainingJobRequest.from_json(fields["request"]),
        status=JobStatus(fields["status"]),
        created_at=time("created_at") or datetime.now(UTC),
        started_at=time("started_at"),
        finished_at=time("finished_at"),
        model_version=fields.get("model_version"),
        promoted=None if promoted is None else bool(promoted),
        error=fields.get("error"),
        log_tail=fields.get("log_tail") or "",
    )
    return JobRecord(job, fields.get("run"))


def epoch_datetime(seconds: float) -> datetime:
    """A time kept as epoch seconds, read back."""
    return datetime.fromtimestamp(seconds, UTC)
