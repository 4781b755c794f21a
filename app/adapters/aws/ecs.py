"""Training runs as ECS Fargate tasks, their logs in CloudWatch Logs.

The task runs ``mlops train ... --report-json -``, which prints the training report
as one JSON line to stdout; it reaches CloudWatch Logs through the task definition's
``awslogs`` driver, and the runner reads it back from there. A run is named by its
task ARN; RunTask's ``startedBy`` is the job id, which finds a task again when the
server died before recording it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from app.adapters.aws import client as aws_client
from app.domain.job_reports import (
    LOG_ENTRIES_READ,
    exit_failure,
    log_lines,
    missing_settings,
    report_missing,
    start_refused,
    stopped_before_training,
)
from app.domain.jobs import (
    JobStartError,
    RunnerUnavailableError,
    RunPhase,
    RunState,
    TrainingJob,
)

log = logging.getLogger(__name__)

_QUEUED = {"PROVISIONING", "PENDING", "ACTIVATING"}


class EcsJobRunner:
    """A :class:`~app.ports.JobRunner` that runs ``mlops train`` as a Fargate task.

    Example::

        runner = EcsJobRunner(cluster="mlops", task_definition="mlops-train", container="train",
                              subnets=["subnet-1"], security_groups=["sg-1"])
        run = runner.launch(job)                 # the task ARN
        runner.describe(job, run).lines          # from CloudWatch Logs
    """

    service = "ECS"
    run_noun = "task"
    # CloudWatch Logs may show the last lines a little after the task stopped.
    log_grace_seconds = 60.0
    no_report = report_missing("the task's log", "the task definition's awslogs options")

    def __init__(
        self,
        *,
        cluster: str,
        task_definition: str,
        container: str,
        subnets: Sequence[str],
        security_groups: Sequence[str],
        ecs: Any = None,
        logs: Any = None,
    ) -> None:
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
    def logs_client(self) -> Any:
        if self._logs is None:
            self._logs = aws_client("logs")
        return self._logs

    def launch(self, job: TrainingJob) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        unconfigured = missing_settings(
            {
                "MLOPS_AWS_ECS_CLUSTER": self.cluster,
                "MLOPS_AWS_TRAINING_TASK_DEFINITION": self.task_definition,
                "MLOPS_AWS_TRAINING_SUBNETS": self.subnets,
            }
        )
        if unconfigured is not None:
            raise JobStartError(unconfigured)
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
                        {"name": self.container, "command": job.request.command()}
                    ]
                },
                # 32 characters of the 36 allowed. (Tags would need ecs:TagResource too.)
                startedBy=job.id,
            )
        except (ClientError, BotoCoreError) as exc:
            raise JobStartError(_start_refused(_vendor_message(exc))) from exc
        tasks = answer.get("tasks") or []
        if not tasks:
            reasons = [
                ": ".join(str(f[key]) for key in ("reason", "detail") if f.get(key))
                for f in answer.get("failures") or []
            ]
            raise JobStartError(
                _start_refused("; ".join(r for r in reasons if r) or "no task and no reason")
            )
        return str(tasks[0]["taskArn"])

    def find(self, job: TrainingJob) -> str | None:
        with _unanswered():
            for desired in ("RUNNING", "STOPPED"):
                arns = self.ecs.list_tasks(
                    cluster=self.cluster, startedBy=job.id, desiredStatus=desired
                ).get("taskArns", [])
                if arns:
                    return str(arns[0])
        return None

    def describe(self, job: TrainingJob, run: str) -> RunState | None:
        with _unanswered():
            answer = self.ecs.describe_tasks(cluster=self.cluster, tasks=[run])
            task = next((t for t in answer.get("tasks", []) if t.get("taskArn") == run), None)
            if task is None:  # ECS forgets stopped tasks after about an hour
                return None
            lines = self._log_lines(task)
        started = _datetime(task.get("startedAt"))
        if task.get("lastStatus") in _QUEUED:
            return RunState(RunPhase.QUEUED, lines)
        if task.get("lastStatus") != "STOPPED":
            return RunState(RunPhase.RUNNING, lines, started_at=started)
        container: dict[str, Any] = next(
            (c for c in task.get("containers", []) if c.get("name") == self.container), {}
        )
        code = container.get("exitCode")
        failure: str | None = None
        if code is None:  # the container never ran: ECS says why (image pull, secrets...)
            failure = stopped_before_training(
                "task", [container.get("reason"), task.get("stoppedReason")]
            )
        elif code != 0:  # e.g. "OutOfMemoryError: Container killed due to memory usage"
            failure = exit_failure(code, lines, container.get("reason"))
        return RunState(
            RunPhase.ENDED,
            lines,
            started_at=started,
            ended_at=_datetime(task.get("stoppedAt")),
            failure=failure,
            failure_logged=code is None or bool(lines),
        )

    def logs(self, job: TrainingJob, run: str) -> list[str]:
        """A forgotten task's log, found through the task definition it was started with
        (as configured: ECS no longer says which revision ran)."""
        with _unanswered():
            return self._log_lines({"taskArn": run, "taskDefinitionArn": self.task_definition})

    def _log_lines(self, task: dict) -> list[str]:
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
            answer = self.logs_client.get_log_events(**request)
            if not answer.get("events") and answer.get("nextBackwardToken"):
                # CloudWatch may answer a page with no events while older ones exist.
                answer = self.logs_client.get_log_events(
                    **request, nextToken=answer["nextBackwardToken"]
                )
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


@contextlib.contextmanager
def _unanswered() -> Iterator[None]:
    """AWS errors while following a run, as the runner's ``RunnerUnavailableError``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise RunnerUnavailableError("AWS", _vendor_message(exc)) from exc


def _datetime(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _vendor_message(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error['Code']}: {error.get('Message', '')}".strip() if error else str(exc)


def _start_refused(reason: str) -> str:
    return start_refused("ECS", reason, "the cluster, the task definition and the subnets")
