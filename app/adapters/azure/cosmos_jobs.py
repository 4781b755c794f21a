"""Training job records in the Cosmos ``jobs`` container.

Items, all in the one logical partition ``pk`` = ``"jobs"`` so a transactional batch
can span them:

- a job: ``id`` = the job id (creation time in hex, so ``ORDER BY c.id DESC`` lists
  newest first), ``kind`` = ``"job"``; times as epoch seconds;
- the start lock: ``id`` = ``"lock"``, with ``active`` (ids of queued and running
  jobs) and ``automatic_at`` (when the last automatic job was created). A create
  puts its job and replaces the lock, conditional on the lock's etag, in one batch:
  of concurrent creates one wins, the others read the lock again and decide again. A
  finish records the outcome and takes the job out of ``active`` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.adapters.job_fields import WRITTEN_ONCE, epoch_datetime, job_fields, job_record
from app.domain.jobs import JobLock, JobNotFoundError, JobRecord, JobStatus, TrainingJob

if TYPE_CHECKING:
    from azure.cosmos import DatabaseProxy

_PK = "jobs"
_LOCK_ID = "lock"
# A conditional write that keeps losing to other writers gives up after this many reads.
_ATTEMPTS = 20


class CosmosJobStore:
    """A :class:`~app.ports.JobStore` in Cosmos DB.

    Example::

        store = CosmosJobStore(cosmos_database(endpoint, "mlops"))
        store.create(job, cooldown_since=None)   # one batch: the job and the lock
    """

    def __init__(self, database: DatabaseProxy | Any) -> None:
        self.container = database.get_container_client("jobs")

    def create(self, job: TrainingJob, *, cooldown_since: datetime | None) -> JobRecord | None:
        item = {**_fields(job), "pk": _PK, "kind": "job"}
        cutoff = None if cooldown_since is None else cooldown_since.timestamp()
        for _ in range(_ATTEMPTS):
            lock = self._read(_LOCK_ID)
            held = lock or {"id": _LOCK_ID, "pk": _PK, "kind": "lock", "active": []}
            if cutoff is not None and (held["active"] or held.get("automatic_at", 0) > cutoff):
                return None
            new_lock = {**held, "active": [*held["active"], job.id]}
            if job.request.automatic:
                new_lock["automatic_at"] = item["created_at"]
            hold = (
                ("replace", (_LOCK_ID, new_lock), _if_match(lock))
                if lock is not None
                else ("create", (new_lock,))
            )
            if self._batch([hold, ("create", (item,))]):
                return _record(item)
        raise RuntimeError("the training job lock kept changing; try again")

    def get(self, job_id: str) -> JobRecord:
        return _record(self._job_item(job_id))

    def list(self, limit: int) -> Sequence[JobRecord]:
        items = self.container.query_items(
            "SELECT TOP @limit * FROM c WHERE c.kind = @kind ORDER BY c.id DESC",
            parameters=[{"name": "@limit", "value": limit}, {"name": "@kind", "value": "job"}],
            partition_key=_PK,
        )
        return [_record(item) for item in items]

    def lock(self) -> JobLock:
        lock = self._read(_LOCK_ID) or {}
        automatic_at = lock.get("automatic_at")
        return JobLock(
            tuple(lock.get("active", [])),
            epoch_datetime(automatic_at) if automatic_at is not None else None,
        )

    def set_run(self, job_id: str, run: str) -> None:
        self._change(job_id, run=run)

    def mark_running(self, job_id: str, started_at: datetime) -> None:
        self._change(
            job_id,
            when=JobStatus.QUEUED,
            status=JobStatus.RUNNING.value,
            started_at=started_at.timestamp(),
        )

    def finish(self, job: TrainingJob) -> TrainingJob | None:
        values = {k: v for k, v in _fields(job).items() if k not in WRITTEN_ONCE}
        for _ in range(_ATTEMPTS):
            current = self._job_item(job.id)
            if JobStatus(current["status"]).finished:
                return None
            finished = {**current, **values}
            operations = [("replace", (job.id, finished), _if_match(current))]
            lock = self._read(_LOCK_ID)
            if lock is not None and job.id in lock.get("active", []):
                active = [j for j in lock["active"] if j != job.id]
                operations.append(
                    ("replace", (_LOCK_ID, {**lock, "active": active}), _if_match(lock))
                )
            if self._batch(operations):
                return _record(finished).job
        raise RuntimeError(f"training job {job.id}: its item kept changing")

    def release(self, job_id: str) -> None:
        for _ in range(_ATTEMPTS):
            lock = self._read(_LOCK_ID)
            if lock is None or job_id not in lock.get("active", []):
                return
            active = [j for j in lock["active"] if j != job_id]
            if self._batch([("replace", (_LOCK_ID, {**lock, "active": active}), _if_match(lock))]):
                return

    # -- the items

    def _read(self, item_id: str) -> dict[str, Any] | None:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            item: dict[str, Any] = self.container.read_item(item_id, partition_key=_PK)
        except CosmosResourceNotFoundError:
            return None
        return item

    def _job_item(self, job_id: str) -> dict[str, Any]:
        item = self._read(job_id)
        if item is None or item.get("kind") != "job":
            raise JobNotFoundError(job_id)
        return item

    def _change(self, job_id: str, when: JobStatus | None = None, **fields: Any) -> None:
        """Set ``fields`` on the job (only while its status is ``when``, if given)."""
        for _ in range(_ATTEMPTS):
            item = self._job_item(job_id)
            if when is not None and item["status"] != when.value:
                return
            if self._batch([("replace", (job_id, {**item, **fields}), _if_match(item))]):
                return
        raise RuntimeError(f"training job {job_id}: its item kept changing")

    def _batch(self, operations: Sequence[tuple[Any, ...]]) -> bool:
        """Run the operations as one transactional batch; False when a precondition
        failed (another replica wrote the lock or the job first)."""
        from azure.cosmos.exceptions import CosmosBatchOperationError

        try:
            self.container.execute_item_batch(operations, partition_key=_PK)
        except CosmosBatchOperationError as exc:
            if exc.status_code in (409, 412):
                return False
            raise
        return True


def _if_match(item: dict[str, Any] | None) -> dict[str, Any]:
    """A batch operation's condition on ``item``'s etag."""
    return {"if_match_etag": item["_etag"]} if item is not None else {}


def _fields(job: TrainingJob) -> dict[str, Any]:
    return job_fields(job, stamp=datetime.timestamp)


def _record(item: dict[str, Any]) -> JobRecord:
    return job_record(item, when=epoch_datetime)
