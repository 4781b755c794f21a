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
from app.adapters.aws.dynamodb import _n, _s, _Table, _text
from app.adapters.job_reports import (
    new_job_id,
    not_started,
    request_from_json,
    request_to_json,
    split_report,
    tail,
    training_command,
)
from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJob, TrainingJobRequest

log = logging.getLogger(__name__)

_LOG_EVENTS = 100  # read from the end of the stream: the tail and the report line
# A job with no task this long after its creation lost its RunTask (the server died).
_LAUNCH_GRACE_SECONDS = 300
# CloudWatch Logs may show the last lines a little after the task stopped.
_LOG_GRACE_SECONDS = 60
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
        job_id = new_job_id()
        item = {
            "pk": _s("JOB"),
            "sk": _s(job_id),
            "id": _s(job_id),
            "request": _s(request_to_json(request)),
            "command": _s(json.dumps(training_command(request))),
            "status": _s(JobStatus.QUEUED.value),
            "created_at": _n(now),
        }
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
        missing = [
            name
            for name, value in (
                ("MLOPS_AWS_ECS_CLUSTER", self.cluster),
                ("MLOPS_AWS_TRAINING_TASK_DEFINITION", self.task_definition),
                ("MLOPS_AWS_TRAINING_SUBNETS", self.subnets),
            )
            if not value
        ]
        if missing:
            error = (
                f"Training jobs are not configured on this deployment: set {', '.join(missing)}."
            )
            return self._finish(item, JobStatus.FAILED, error=error)
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
            return self._finish(item, JobStatus.FAILED, error=_not_started(_vendor_message(exc)))
        tasks = answer.get("tasks") or []
        if not tasks:
            reasons = [
                ": ".join(str(f[key]) for key in ("reason", "detail") if f.get(key))
                for f in answer.get("failures") or []
            ]
            error = _not_started("; ".join(r for r in reasons if r) or "no task and no reason")
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
            note = f"(AWS did not answer: {_vendor_message(exc)}; this is the last known status)"
            return _to_job(item, log_tail=_tail(item, [note]))

    def _refresh(self, item: dict) -> TrainingJob:
        arn = _text(item, "task_arn")
        if arn is None:
            if time.time() - float(item["created_at"]["N"]) < _LAUNCH_GRACE_SECONDS:
                return _to_job(item)  # RunTask is on its way
            arn = self._find_task(item)
            if arn is None:
                error = "The training task was never started (the server stopped while starting"
                return self._finish(item, JobStatus.FAILED, error=f"{error} it); start a new job.")
            self._set_task(item, arn)
        answer = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])
        task = next((t for t in answer.get("tasks", []) if t.get("taskArn") == arn), None)
        if task is None:  # ECS forgets stopped tasks after about an hour
            return self._forgotten(item, arn)
        report, lines = split_report(self._log_lines(task))
        tail = _tail(item, lines)
        started = _epoch(task.get("startedAt"))
        if task.get("lastStatus") != "STOPPED":
            if task.get("lastStatus") in _QUEUED:
                return _to_job(item, log_tail=tail)
            if item["status"]["S"] == JobStatus.QUEUED.value:
                self._mark_running(item, started)
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=tail)
        stopped = _epoch(task.get("stoppedAt")) or time.time()
        container: dict[str, Any] = next(
            (c for c in task.get("containers", []) if c.get("name") == self.container), {}
        )
        code = container.get("exitCode")
        outcome: dict[str, Any] = {"started_at": started, "finished_at": stopped, "log_tail": tail}
        if code == 0 and report is not None:
            return self._finish(
                item,
                JobStatus.SUCCEEDED,
                model_version=str(report["version"]),
                promoted=bool(report["promoted"]),
                **outcome,
            )
        # Its last lines may not have reached CloudWatch Logs yet: judge a little later.
        waiting = (code == 0 and report is None) or (code not in (0, None) and not lines)
        if waiting and time.time() - stopped < _LOG_GRACE_SECONDS:
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=tail)
        if code == 0:
            error = "mlops train finished but its report is not in the task's log; check the task"
            error += " definition's awslogs options, then look the version up in the registry."
        elif code is None:  # the container never ran: ECS says why (image pull, secrets...)
            why = [r for r in (container.get("reason"), task.get("stoppedReason")) if r]
            error = f"The training task stopped before mlops train ran: {'; '.join(why) or '?'}."
        else:  # e.g. "OutOfMemoryError: Container killed due to memory usage"
            detail = f" ({container['reason']})" if container.get("reason") else ""
            last = lines[-1] if lines else "no output"
            error = f"mlops train exited with code {code}{detail}: {last}"
        return self._finish(item, JobStatus.FAILED, error=error, **outcome)

    def _forgotten(self, item: dict, arn: str) -> TrainingJob:
        """A task ECS no longer lists (stopped over an hour ago, nobody asked since):
        its log still holds the report when ``mlops train`` succeeded."""
        definition = _text(item, "task_definition_arn")
        lines: Sequence[str] = []
        if definition is not None:
            lines = self._log_lines({"taskArn": arn, "taskDefinitionArn": definition})
        report, lines = split_report(lines)
        tail = _tail(item, lines)
        if report is not None:
            return self._finish(
                item,
                JobStatus.SUCCEEDED,
                model_version=str(report["version"]),
                promoted=bool(report["promoted"]),
                log_tail=tail,
            )
        error = (
            f"ECS no longer knows the training task {arn} and its log holds no report;"
            " look for its version in GET /v1/models, or start a new job."
        )
        return self._finish(item, JobStatus.FAILED, error=error, log_tail=tail)

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
            "limit": _LOG_EVENTS,
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
        lines: list[str] = []
        for event in answer.get("events", []):
            for line in str(event.get("message", "")).split("\n"):
                line = line.rsplit("\r", 1)[-1].rstrip()  # progress bars' carriage returns
                if line:
                    lines.append(line)
        return lines

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
        for name, value in fields.items():
            if value is None:
                continue
            if isinstance(value, bool):
                values[name] = {"BOOL": value}
            elif isinstance(value, float | int):
                values[name] = _n(value)
            else:
                values[name] = _s(str(value))
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


def _stamp(item: dict, name: str) -> datetime | None:
    value = item.get(name)
    return datetime.fromtimestamp(float(value["N"]), UTC) if value is not None else None


def _vendor_message(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error['Code']}: {error.get('Message', '')}".strip() if error else str(exc)


def _not_started(reason: str) -> str:
    return not_started("ECS", reason, "the cluster, the task definition and the subnets")


def _tail(item: dict, lines: Sequence[str]) -> str:
    return tail(json.loads(item["command"]["S"]), lines)


def _to_job(
    item: dict,
    *,
    status: JobStatus | None = None,
    started_at: float | None = None,
    log_tail: str | None = None,
) -> TrainingJob:
    promoted = item.get("promoted")
    return TrainingJob(
        id=item["id"]["S"],
        request=request_from_json(item["request"]["S"]),
        status=status or JobStatus(item["status"]["S"]),
        created_at=_stamp(item, "created_at") or datetime.now(UTC),
        started_at=(
            datetime.fromtimestamp(started_at, UTC)
            if started_at is not None
            else _stamp(item, "started_at")
        ),
        finished_at=_stamp(item, "finished_at"),
        model_version=_text(item, "model_version"),
        promoted=None if promoted is None else bool(promoted["BOOL"]),
        error=_text(item, "error"),
        log_tail=log_tail if log_tail is not None else (_text(item, "log_tail") or _tail(item, [])),
    )
