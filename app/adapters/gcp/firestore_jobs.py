"""Training job records in Firestore.

Documents of the ``jobs`` collection:

- ``jobs/<job id>``: a job. Ids start with the creation time in hex; ``created_at``
  orders the list (Firestore's automatic single-field index);
- ``jobs/lock``: the start lock, with ``active`` (the ids of queued and running jobs)
  and ``automatic_at`` (when the last automatic job was created). A create writes its
  job and the lock in one batch, under a ``last_update_time`` precondition on the lock
  read to check the cool-down; a finish records the outcome and takes the job out of
  ``active`` the same way. Of concurrent creates one commits; the others read the lock
  again and see the job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.adapters.gcp.firestore import MAX_ATTEMPTS, document_id, fields_of, plain_datetime
from app.adapters.job_fields import WRITTEN_ONCE, job_fields, job_record
from app.domain.jobs import JobLock, JobNotFoundError, JobRecord, JobStatus, TrainingJob

if TYPE_CHECKING:
    from google.cloud import firestore

JOBS = "jobs"
LOCK = "lock"  # never a job id: those are hex


class FirestoreJobStore:
    """A :class:`~app.ports.JobStore` in Firestore.

    Example::

        store = FirestoreJobStore(firestore_client("my-project"))
        store.create(job, cooldown_since=None)   # one batch: the job and the lock
    """

    def __init__(self, client: firestore.Client) -> None:
        self.client = client

    def _ref(self, job_id: str) -> Any:
        return self.client.collection(JOBS).document(job_id)

    def create(self, job: TrainingJob, *, cooldown_since: datetime | None) -> JobRecord | None:
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition

        item = _fields(job)
        lock_ref = self._ref(LOCK)
        for _ in range(MAX_ATTEMPTS):
            lock = lock_ref.get()
            fields = fields_of(lock)
            active = list(fields.get("active", []))
            automatic_at = fields.get("automatic_at")
            if cooldown_since is not None and (
                active or (automatic_at is not None and automatic_at > cooldown_since)
            ):
                return None
            update: dict[str, Any] = {"active": [*active, job.id]}
            if job.request.automatic:
                update["automatic_at"] = job.created_at
            batch = self.client.batch()
            batch.create(self._ref(job.id), item)
            if lock.exists:
                option = self.client.write_option(last_update_time=lock.update_time)
                batch.update(lock_ref, update, option=option)
            else:
                batch.create(lock_ref, {"automatic_at": None, **update})
            try:
                batch.commit()
            except (FailedPrecondition, AlreadyExists):
                continue  # another create or finish wrote the lock: decide again
            return _record(item)
        raise RuntimeError(f"the training-job lock kept changing ({MAX_ATTEMPTS} attempts)")

    def get(self, job_id: str) -> JobRecord:
        # Ids come from URLs: one that is no plain document id cannot name a job.
        plain = job_id != LOCK and document_id(job_id) == job_id
        snapshot = self._ref(job_id).get() if plain else None
        if snapshot is None or not snapshot.exists:
            raise JobNotFoundError(job_id)
        return _record(fields_of(snapshot))

    def list(self, limit: int) -> Sequence[JobRecord]:
        query = (
            self.client.collection(JOBS).order_by("created_at", direction="DESCENDING").limit(limit)
        )
        return [_record(fields_of(snapshot)) for snapshot in query.stream()]

    def lock(self) -> JobLock:
        fields = fields_of(self._ref(LOCK).get())
        automatic_at = fields.get("automatic_at")
        return JobLock(
            tuple(fields.get("active", [])),
            plain_datetime(automatic_at) if automatic_at is not None else None,
        )

    def set_run(self, job_id: str, run: str) -> None:
        self._ref(job_id).update({"run": run})

    def mark_running(self, job_id: str, started_at: datetime) -> None:
        from google.api_core.exceptions import FailedPrecondition

        ref = self._ref(job_id)
        snapshot = ref.get()
        if fields_of(snapshot).get("status") != JobStatus.QUEUED.value:
            return  # another replica recorded it (or finished it)
        option = self.client.write_option(last_update_time=snapshot.update_time)
        with contextlib.suppress(FailedPrecondition):  # another replica wrote it first
            ref.update({"status": JobStatus.RUNNING.value, "started_at": started_at}, option=option)

    def finish(self, job: TrainingJob) -> TrainingJob | None:
        from google.api_core.exceptions import FailedPrecondition

        values = {k: v for k, v in _fields(job).items() if k not in WRITTEN_ONCE}
        job_ref, lock_ref = self._ref(job.id), self._ref(LOCK)
        for _ in range(MAX_ATTEMPTS):
            snapshot, lock = job_ref.get(), lock_ref.get()
            if JobStatus(fields_of(snapshot)["status"]).finished:
                return None
            batch = self.client.batch()
            option = self.client.write_option(last_update_time=snapshot.update_time)
            batch.update(job_ref, values, option=option)
            active = fields_of(lock).get("active", [])
            if job.id in active:
                remaining = [job_id for job_id in active if job_id != job.id]
                option = self.client.write_option(last_update_time=lock.update_time)
                batch.update(lock_ref, {"active": remaining}, option=option)
            try:
                batch.commit()
            except FailedPrecondition:
                continue
            return _record({**fields_of(snapshot), **values}).job
        raise RuntimeError(f"training job {job.id} kept changing ({MAX_ATTEMPTS} attempts)")

    def release(self, job_id: str) -> None:
        from google.api_core.exceptions import FailedPrecondition

        lock_ref = self._ref(LOCK)
        for _ in range(MAX_ATTEMPTS):
            lock = lock_ref.get()
            active = fields_of(lock).get("active", [])
            if job_id not in active:
                return
            option = self.client.write_option(last_update_time=lock.update_time)
            try:
                lock_ref.update({"active": [j for j in active if j != job_id]}, option=option)
            except FailedPrecondition:
                continue
            return


def _fields(job: TrainingJob) -> dict[str, Any]:
    return job_fields(job, stamp=lambda time: time)  # Firestore keeps datetimes


def _record(fields: dict[str, Any]) -> JobRecord:
    return job_record(fields, when=plain_datetime)
