"""Training job records in the DynamoDB records table.

Items (``pk`` / ``sk``):

- a job: ``JOB`` / ``<job id>``. Ids start with the creation time in hex, so one
  strongly consistent query on ``JOB`` lists jobs newest first (no index lag);
- the start lock: ``JOBLOCK`` / ``JOBLOCK``, with ``active`` (the ids of queued and
  running jobs, a string set) and ``automatic_at`` (when the last automatic job
  was created). A create adds its job to ``active`` in the same transaction that
  puts it, under a condition when a cool-down applies; a finish removes it in the
  same transaction that records the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.adapters.aws import client as aws_client
from app.adapters.job_fields import WRITTEN_ONCE, epoch_datetime, job_fields, job_record
from app.domain.jobs import JobLock, JobNotFoundError, JobRecord, JobStatus, TrainingJob

_JOB = {"S": "JOB"}
_LOCK = {"pk": {"S": "JOBLOCK"}, "sk": {"S": "JOBLOCK"}}
_QUEUED, _RUNNING = {"S": JobStatus.QUEUED.value}, {"S": JobStatus.RUNNING.value}


class DynamoJobStore:
    """A :class:`~app.ports.JobStore` in the records table.

    Example::

        store = DynamoJobStore("mlops-records")
        store.create(job, cooldown_since=None)   # one transaction: the job and the lock
    """

    def __init__(self, table: str, *, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def create(self, job: TrainingJob, *, cooldown_since: datetime | None) -> JobRecord | None:
        item = _item(job)
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _LOCK,
            "UpdateExpression": "ADD active :job"
            + (" SET automatic_at = :now" if job.request.automatic else ""),
            "ExpressionAttributeValues": {":job": {"SS": [job.id]}},
        }
        if job.request.automatic:
            update["ExpressionAttributeValues"][":now"] = item["created_at"]
        if cooldown_since is not None:
            update["ConditionExpression"] = "attribute_not_exists(active) AND" + (
                " (attribute_not_exists(automatic_at) OR automatic_at <= :cutoff)"
            )
            update["ExpressionAttributeValues"][":cutoff"] = _number(cooldown_since.timestamp())
        put = {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if not self._transact([{"Put": put}, {"Update": update}]):
            return None
        return _record(item)

    def get(self, job_id: str) -> JobRecord:
        answer = self.client.get_item(
            TableName=self.table, Key={"pk": _JOB, "sk": {"S": job_id}}, ConsistentRead=True
        )
        if "Item" not in answer:
            raise JobNotFoundError(job_id)
        return _record(answer["Item"])

    def list(self, limit: int) -> Sequence[JobRecord]:
        items: list[dict] = []
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :k",
            "ExpressionAttributeValues": {":k": _JOB},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        while len(items) < limit:
            page = self.client.query(**query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [_record(item) for item in items[:limit]]

    def lock(self) -> JobLock:
        answer = self.client.get_item(TableName=self.table, Key=_LOCK, ConsistentRead=True)
        item = answer.get("Item", {})
        automatic_at = item.get("automatic_at")
        return JobLock(
            tuple(item.get("active", {"SS": []})["SS"]),
            epoch_datetime(float(automatic_at["N"])) if automatic_at else None,
        )

    def set_run(self, job_id: str, run: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"pk": _JOB, "sk": {"S": job_id}},
            UpdateExpression="SET #run = :run",
            ExpressionAttributeNames={"#run": "run"},
            ExpressionAttributeValues={":run": {"S": run}},
        )

    def mark_running(self, job_id: str, started_at: datetime) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _JOB, "sk": {"S": job_id}},
                UpdateExpression="SET #status = :running, started_at = :started",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":running": _RUNNING,
                    ":started": _number(started_at.timestamp()),
                    ":queued": _QUEUED,
                },
            )
        except ClientError as exc:  # the condition failed: another replica moved it on
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def finish(self, job: TrainingJob) -> TrainingJob | None:
        item = _item(job)
        values = {k: v for k, v in item.items() if k not in {"pk", "sk", *WRITTEN_ONCE}}
        finished = self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": _JOB, "sk": {"S": job.id}},
                        "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in values),
                        "ConditionExpression": "#status IN (:queued, :running)",
                        "ExpressionAttributeNames": {f"#{k}": k for k in values},
                        "ExpressionAttributeValues": {
                            **{f":{k}": v for k, v in values.items()},
                            ":queued": _QUEUED,
                            ":running": _RUNNING,
                        },
                    }
                },
                {"Update": self._release(job.id)},
            ]
        )
        return _record(item).job if finished else None

    def release(self, job_id: str) -> None:
        self.client.update_item(**self._release(job_id))

    def _release(self, job_id: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": _LOCK,
            "UpdateExpression": "DELETE active :job",
            "ExpressionAttributeValues": {":job": {"SS": [job_id]}},
        }

    def _transact(self, writes: Sequence[dict[str, Any]], attempts: int = 5) -> bool:
        """Run the writes as one transaction; False if a condition failed. A conflict
        with a concurrent transaction on the same items is retried."""
        from botocore.exceptions import ClientError

        for attempt in range(attempts):
            try:
                self.client.transact_write_items(TransactItems=writes)
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                codes = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
                if "ConditionalCheckFailed" in codes:
                    return False
                if "TransactionConflict" not in codes or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        return False  # pragma: no cover - the loop returns or raises


def _number(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def _item(job: TrainingJob) -> dict[str, Any]:
    """The job as an item: times as epoch seconds, unset fields left out."""
    item: dict[str, Any] = {"pk": _JOB, "sk": {"S": job.id}}
    for name, value in job_fields(job, stamp=datetime.timestamp).items():
        if isinstance(value, bool):
            item[name] = {"BOOL": value}
        elif isinstance(value, float):
            item[name] = _number(value)
        else:
            item[name] = {"S": value}
    return item


def _record(item: dict[str, Any]) -> JobRecord:
    fields = {
        name: float(value["N"]) if "N" in value else value.get("S", value.get("BOOL"))
        for name, value in item.items()
    }
    return job_record(fields, when=epoch_datetime)
