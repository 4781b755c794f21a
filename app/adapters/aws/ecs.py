"""Training jobs as ECS Fargate tasks, recorded in the DynamoDB table.

Items (``pk`` / ``sk``):

- a job: ``JOB`` / ``<job id>``. Ids start with the creation time in hex, so one
  strongly consistent query on ``JOB`` lists jobs newest first (no index lag);
- the start lock: ``JOBLOCK`` / ``JOBLOCK``, with ``active`` (the ids of queued and
  running jobs, a string set) and ``automatic_at`` (when the last automatic job
  was created). A start adds its job to ``active`` in the same transaction that
  creates it, under a condition when a cool-down applies; a finish removes it in
  the same transaction that records the outcome.

The task runs ``mlops train ... --report-json -``, which prints the training
report as one JSON line to stdout; it reaches CloudWatch Logs through the task
definition's ``awslogs`` driver, and the launcher reads it back from there. A
finished job is written back to its item, so it never calls ECS again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.adapters.aws import client as aws_client
from app.adapters.aws.dynamodb import _n, _s, _Table
from app.adapters.job_reports import (
    LAUNCH_GRACE_SECONDS,
    LOG_ENTRIES_READ,
    exit_failure,
    judge,
    judge_forgotten,
    log_lines,
    missing_settings,
    new_job_fields,
    report_missing,
    split_report,
    start_lost,
    start_refused,
    stopped_before_training,
    tail,
    to_training_job,
    unanswered,
)
from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJob, TrainingJobRequest

log = logging.getLogger(__name__)

# CloudWatch Logs may show the last lines a little after the task stopped.
_LOG_GRACE_SECONDS = 60
_NO_REPORT = report_missing("the task's log", "the task definition's awslogs options")
_LOCK = {"pk": _s("JOBLOCK"), "sk": _s("JOBLOCK")}
_QUEUED = {"PROVISIONING", "PENDING", "ACTIVATING"}


class EcsJobLauncher(_Table):
    """A :class:`~app.ports.JobLauncher` that runs ``mlops train`` as a Fargate task.

    Example::

        launcher = EcsJobLauncher("mlops-records", cluster="mlops", task_definition="mlops-train",
                                  container="train", subnets=["subnet-1"], security_groups=["sg-1"])
        job = launcher.start(request, cooldown_seconds=3600)   # None: one runs or cooling down
        launcher.get(job.id).log_tail                          # from CloudWatch Logs
    """

    def __init__(
        self,
        table: str,
        *,
        cluster: str,
        task_definition: str,
        container: str,
        subnets: Sequence[str],
        security_groups: Sequence[str],
        ecs: Any = None,
        dynamodb: Any = None,
        logs: Any = None,
    ) -> None:
        super().__init__(table, dynamodb)
        self.cluster = cluster
        self.task_definition = task_definition
        self.container = container
        self.subnets = list(subnets)
        self.security_groups = list(security_groups)
        self._ecs = ecs
        self._logs = logs
        # The awslogs (group, stream prefix) of each task definition revision.
        self._log_streams: dict[str, tuple[str, str] | None] = {}

    @property
    def ecs(self) -> Any:
        if self._ecs is None:
            self._ecs = aws_client("ecs")
        return self._ecs

    @property
    def logs(self) -> Any:
        if self._logs is None:
            self._logs = aws_client("logs")
        return self._logs

    # -- the port

    def start(
        self, request: TrainingJobRequest, *, cooldown_seconds: float | None = None
    ) -> TrainingJob | None:
        now = time.time()
        cutoff = None if cooldown_seconds is None else now - cooldown_seconds
        if cutoff is not None and not self._may_start(cutoff):
            return None
        fields = new_job_fields(request, now)
        item = {"pk": _s("JOB"), "sk": _s(fields["id"])}
        item.update((name, _attribute(value)) for name, value in fields.items())
        if not self._create(item, automatic=request.reason is not JobReason.MANUAL, cutoff=cutoff):
            return None
        return self._launch(item)

    def get(self, job_id: str) -> TrainingJob:
        answer = self.client.get_item(
            TableName=self.table, Key={"pk": _s("JOB"), "sk": _s(job_id)}, ConsistentRead=True
        )
        if "Item" not in answer:
            raise JobNotFoundError(job_id)
        return self._current(answer["Item"])

    def list(self, limit: int = 20) -> Sequence[TrainingJob]:
        items = self._paged(
            limit,
            KeyConditionExpression="pk = :k",
            ExpressionAttributeValues={":k": _s("JOB")},
            ConsistentRead=True,
            Limit=limit,
        )
        return [self._current(item) for item in items]

    # -- starting

    def _may_start(self, cutoff: float) -> bool:
        """Whether a cool-down start can try its transaction: not cooling down, and
        the jobs the lock holds have not finished unseen (nobody asked about them)."""
        lock = self.client.get_item(TableName=self.table, Key=_LOCK, ConsistentRead=True)
        lock = lock.get("Item", {})
        if float(lock.get("automatic_at", {"N": "0"})["N"]) > cutoff:
            return False
        finished = True
        for job_id in lock.get("active", {"SS": []})["SS"]:
            try:
                finished = self.get(job_id).status.finished and finished
            except JobNotFoundError:  # deleted by hand: it must not hold the lock forever
                self._release(job_id)
        return finished

    def _release(self, job_id: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=_LOCK,
            UpdateExpression="DELETE active :job",
            ExpressionAttributeValues={":job": {"SS": [job_id]}},
        )

    def _create(self, item: dict, *, automatic: bool, cutoff: float | None) -> bool:
        """Create the job and hold the lock for it in one transaction; False if the
        cool-down condition failed (another replica started one)."""
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _LOCK,
            "UpdateExpression": "ADD active :job"
            + (" SET automatic_at = :now" if automatic else ""),
            "ExpressionAttributeValues": {":job": {"SS": [item["id"]["S"]]}},
        }
        if automatic:
            update["ExpressionAttributeValues"][":now"] = item["created_at"]
        if cutoff is not None:
            update["ConditionExpression"] = "attribute_not_exists(active) AND" + (
                " (attribute_not_exists(automatic_at) OR automatic_at <= :cutoff)"
            )
            update["ExpressionAttributeValues"][":cutoff"] = _n(cutoff)
        put = {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        return self._transact([{"Put": put}, {"Update": update}])

    def _launch(self, item: dict) -> TrainingJob:
        from botocore.exceptions import BotoCoreError, ClientError

        job_id = item["id"]["S"]
        unconfigured = missing_settings(
            {
                "MLOPS_AWS_ECS_CLUSTER": self.cluster,
                "MLOPS_AWS_TRAINING_TASK_DEFINITION": self.task_definition,
                "MLOPS_AWS_TRAINING_SUBNETS": self.subnets,
            }
        )
        if unconfigured is not None:
            return self._finish(item, JobStatus.FAILED, error=unconfigured)
        try:
            answer = self.ecs.run_task(
                cluster=self.cluster,
                taskDefinition=self.task_definition,
                launchType="FARGATE",
                count=1,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": self.subnets,
                        "securityGroups": self.security_groups,
                        "assignPublicIp": "DISABLED",
                    }
                },
                overrides={
                    "containerOverrides": [
                        {"name": self.container, "command": json.loads(item["command"]["S"])}
                    ]
                },
                # 32 characters of the 36 allowed. (Tags would need ecs:TagResource too.)
                startedBy=job_id,
            )
        except (ClientError, BotoCoreError) as exc:
            return self._finish(item, JobStatus.FAILED, error=_start_refused(_vendor_message(exc)))
        tasks = answer.get("tasks") or []
        if not tasks:
            reasons = [
                ": ".join(str(f[key]) for key in ("reason", "detail") if f.get(key))
                for f in answer.get("failures") or []
            ]
            error = _start_refused("; ".join(r for r in reasons if r) or "no task and no reason")
            return self._finish(item, JobStatus.FAILED, error=error)
        self._set_task(item, tasks[0]["taskArn"], tasks[0].get("taskDefinitionArn"))
        status = JobStatus.QUEUED if tasks[0].get("lastStatus") in _QUEUED else JobStatus.RUNNING
        return _to_job(item, status=status)

    def _set_task(self, item: dict, arn: str, task_definition_arn: str | None = None) -> None:
        item["task_arn"] = _s(arn)
        values = {":arn": item["task_arn"]}
        update = "SET task_arn = :arn"
        if task_definition_arn:
            # Kept so the log (and the report in it) can be found once ECS forgets the task.
            item["task_definition_arn"] = values[":td"] = _s(task_definition_arn)
            update += ", task_definition_arn = :td"
        self.client.update_item(
            TableName=self.table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression=update,
            ExpressionAttributeValues=values,
        )

    def _mark_running(self, item: dict, started: float | None) -> None:
        """Record the start once, so the last known status stays true when ECS cannot
        be asked."""
        from botocore.exceptions import ClientError

        item["status"] = _s(JobStatus.RUNNING.value)
        item["started_at"] = _n(started if started is not None else time.time())
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET #status = :running, started_at = :started",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":running": item["status"],
                    ":started": item["started_at"],
                    ":queued": _s(JobStatus.QUEUED.value),
                },
            )
        except ClientError as exc:
            if not self._conditional_failed(exc):  # else another replica recorded it
                raise

    # -- following

    def _current(self, item: dict) -> TrainingJob:
        """The job as ECS sees it now; a finished one straight from its item."""
        if JobStatus(item["status"]["S"]).finished:
            return _to_job(item)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._refresh(item)
        except (ClientError, BotoCoreError) as exc:
            log.warning("training job %s: could not follow it: %s", item["id"]["S"], exc)
            return _to_job(item, log_tail=_tail(item, [unanswered("AWS", _vendor_message(exc))]))

    def _refresh(self, item: dict) -> TrainingJob:
        arn = _text(item, "task_arn")
        if arn is None:
            if time.time() - float(item["created_at"]["N"]) < LAUNCH_GRACE_SECONDS:
                return _to_job(item)  # RunTask is on its way
            arn = self._find_task(item)
            if arn is None:
                return self._finish(item, JobStatus.FAILED, error=start_lost("task"))
            self._set_task(item, arn)
        answer = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])
        task = next((t for t in answer.get("tasks", []) if t.get("taskArn") == arn), None)
        if task is None:  # ECS forgets stopped tasks after about an hour
            return self._forgotten(item, arn)
        report, lines = split_report(self._log_lines(task))
        log_tail = _tail(item, lines)
        started = _epoch(task.get("startedAt"))
        if task.get("lastStatus") != "STOPPED":
            if task.get("lastStatus") in _QUEUED:
                return _to_job(item, log_tail=log_tail)
            if item["status"]["S"] == JobStatus.QUEUED.value:
                self._mark_running(item, started)
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=log_tail)
        stopped = _epoch(task.get("stoppedAt")) or time.time()
        container: dict[str, Any] = next(
            (c for c in task.get("containers", []) if c.get("name") == self.container), {}
        )
        code = container.get("exitCode")
        failure: str | None = None
        if code is None:  # the container never ran: ECS says why (image pull, secrets...)
            reasons = [container.get("reason"), task.get("stoppedReason")]
            failure = stopped_before_training("task", reasons)
        elif code != 0:  # e.g. "OutOfMemoryError: Container killed due to memory usage"
            failure = exit_failure(code, lines, container.get("reason"))
        verdict = judge(
            report,
            failure=failure,
            failure_logged=code is None or bool(lines),
            log_settled=time.time() - stopped >= _LOG_GRACE_SECONDS,
            no_report=_NO_REPORT,
        )
        if not verdict.status.finished:  # its last lines may not have reached CloudWatch Logs
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=log_tail)
        return self._finish(
            item,
            verdict.status,
            started_at=started,
            finished_at=stopped,
            log_tail=log_tail,
            **verdict.fields,
        )

    def _forgotten(self, item: dict, arn: str) -> TrainingJob:
        """A task ECS no longer lists (stopped over an hour ago, nobody asked since):
        its log still holds the report when ``mlops train`` succeeded."""
        definition = _text(item, "task_definition_arn")
        lines: Sequence[str] = []
        if definition is not None:
            lines = self._log_lines({"taskArn": arn, "taskDefinitionArn": definition})
        report, lines = split_report(lines)
        verdict = judge_forgotten(report, "ECS", f"the training task {arn}")
        return self._finish(item, verdict.status, log_tail=_tail(item, lines), **verdict.fields)

    def _find_task(self, item: dict) -> str | None:
        """The task a job's RunTask started, when the server died before recording it."""
        for desired in ("RUNNING", "STOPPED"):
            arns = self.ecs.list_tasks(
                cluster=self.cluster, startedBy=item["id"]["S"], desiredStatus=desired
            ).get("taskArns", [])
            if arns:
                return str(arns[0])
        return None

    def _log_lines(self, task: dict) -> Sequence[str]:
        from botocore.exceptions import ClientError

        stream = self._log_stream(task["taskDefinitionArn"])
        if stream is None:
            return []
        group, prefix = stream
        request = {
            "logGroupName": group,
            "logStreamName": f"{prefix}/{self.container}/{task['taskArn'].rsplit('/', 1)[-1]}",
            "limit": LOG_ENTRIES_READ,
            "startFromHead": False,
        }
        try:
            answer = self.logs.get_log_events(**request)
            if not answer.get("events") and answer.get("nextBackwardToken"):
                # CloudWatch may answer a page with no events while older ones exist.
                answer = self.logs.get_log_events(**request, nextToken=answer["nextBackwardToken"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                log.warning("could not read the training task's log: %s", exc)
            return []  # no stream before the container starts
        return [
            line
            for event in answer.get("events", [])
            for line in log_lines(str(event.get("message", "")))
        ]

    def _log_stream(self, task_definition_arn: str) -> tuple[str, str] | None:
        """The awslogs group and stream prefix of the training container (cached per
        task definition revision)."""
        if task_definition_arn not in self._log_streams:
            definition = self.ecs.describe_task_definition(taskDefinition=task_definition_arn)
            containers = definition["taskDefinition"].get("containerDefinitions", [])
            found: dict[str, Any] = next(
                (c for c in containers if c.get("name") == self.container), {}
            )
            config = found.get("logConfiguration", {})
            options = config.get("options", {})
            stream = None
            if config.get("logDriver") == "awslogs" and "awslogs-stream-prefix" in options:
                stream = (options["awslogs-group"], options["awslogs-stream-prefix"])
            else:
                log.warning(
                    "the %s container does not log with awslogs and a prefix", self.container
                )
            self._log_streams[task_definition_arn] = stream
        return self._log_streams[task_definition_arn]

    # -- finishing

    def _finish(self, item: dict, status: JobStatus, **fields: Any) -> TrainingJob:
        """Record the outcome and release the lock in one transaction (once: a replica
        that finished it first wins, and its record is returned)."""
        values: dict[str, Any] = {
            "status": _s(status.value),
            "finished_at": _n(fields.pop("finished_at", None) or time.time()),
        }
        values.update((k, _attribute(v)) for k, v in fields.items() if v is not None)
        job_id = item["id"]["S"]
        finished = self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": item["pk"], "sk": item["sk"]},
                        "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in values),
                        "ConditionExpression": "#status IN (:queued, :running)",
                        "ExpressionAttributeNames": {f"#{k}": k for k in values},
                        "ExpressionAttributeValues": {
                            **{f":{k}": v for k, v in values.items()},
                            ":queued": _s(JobStatus.QUEUED.value),
                            ":running": _s(JobStatus.RUNNING.value),
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _LOCK,
                        "UpdateExpression": "DELETE active :job",
                        "ExpressionAttributeValues": {":job": {"SS": [job_id]}},
                    }
                },
            ]
        )
        if not finished:
            return self.get(job_id)
        log.info("training job %s %s", job_id, status.value)
        return _to_job({**item, **values})

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


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _text(item: dict, name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None else None


def _attribute(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB attribute (the command, a list, as JSON text)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, float | int):
        return _n(value)
    if isinstance(value, list):
        return _s(json.dumps(value))
    return _s(str(value))


def _fields(item: dict) -> dict[str, Any]:
    """A job item's attributes as plain values (the command parsed back from JSON)."""
    fields: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            fields[name] = value["S"]
        elif "N" in value:
            fields[name] = float(value["N"])
        elif "BOOL" in value:
            fields[name] = value["BOOL"]
    fields["command"] = json.loads(fields["command"])
    return fields


def _vendor_message(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error['Code']}: {error.get('Message', '')}".strip() if error else str(exc)


def _start_refused(reason: str) -> str:
    return start_refused("ECS", reason, "the cluster, the task definition and the subnets")


def _tail(item: dict, lines: Sequence[str]) -> str:
    return tail(json.loads(item["command"]["S"]), lines)


def _to_job(item: dict, **now: Any) -> TrainingJob:
    """The job stored as ``item``; ``now``: what ECS says in place of the stored status,
    start (epoch seconds) and log tail."""
    return to_training_job(_fields(item), when=_from_epoch, **now)


def _from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
