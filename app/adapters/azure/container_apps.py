"""Training runs as Container Apps job executions, their logs in Log Analytics.

An execution runs the job's own container (image, resources, environment) with the
command ``mlops train ... --report-json -`` and ``MLOPS_TRAINING_JOB_ID`` added, which
finds the execution again if the server dies before recording its name. The report
is one JSON line on stdout; the environment ships console output to Log Analytics
(``ContainerAppConsoleLogs_CL``, rows of ``Log_s`` per replica ``ContainerGroupName_s``
= ``<execution>-<suffix>``) and the runner reads it back with a KQL query. Log
Analytics ingests with a delay of a minute or more, so an execution that ended
without its report in the log is judged only after ``log_grace_seconds``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.job_reports import (
    LOG_ENTRIES_READ,
    exit_failure,
    log_lines,
    missing_settings,
    report_missing,
    start_refused,
)
from app.domain.jobs import (
    JobStartError,
    RunnerUnavailableError,
    RunPhase,
    RunState,
    TrainingJob,
)

log = logging.getLogger(__name__)

JOB_ID_VARIABLE = "MLOPS_TRAINING_JOB_ID"
_QUEUED = {"Processing"}
_RUNNING = {"Running", "Degraded"}
_ENDED = {"Succeeded", "Failed", "Stopped"}
# Azure names executions <job>-<suffix>: lowercase letters, digits and dashes only, which
# is also what makes the name safe inside the KQL string below.
_EXECUTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_STOPPED = (
    "The training job execution was stopped (by hand or at its replica timeout)"
    " before it finished; start a new job."
)


class ContainerAppsJobRunner:
    """A :class:`~app.ports.JobRunner` that runs ``mlops train`` as a Container Apps job.

    Example::

        runner = ContainerAppsJobRunner(subscription_id="0000-...", resource_group="mlops",
                                        job="mlops-train", workspace_id="5b1c-...")
        run = runner.launch(job)                 # the execution's name
        runner.describe(job, run).lines          # from Log Analytics
    """

    service = "Container Apps"
    run_noun = "job"
    # Log Analytics shows console lines a minute or more after they were written.
    log_grace_seconds = 300.0
    no_report = report_missing(
        "the job's log", "that the environment sends console logs to Log Analytics"
    )

    def __init__(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        job: str,
        workspace_id: str,
        jobs_client: Any = None,
        logs_client: Any = None,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.job = job
        self.workspace_id = workspace_id
        self._jobs_client = jobs_client
        self._logs_client = logs_client
        self._credential: Any = None
        self._template_container: Any = None  # the job's container, read once

    @property
    def credential(self) -> Any:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential

    @property
    def jobs_client(self) -> Any:
        """A ``ContainerAppsAPIClient`` (its ``jobs`` operations and ``job_execution``)."""
        if self._jobs_client is None:
            try:
                from azure.mgmt.appcontainers import ContainerAppsAPIClient
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError(
                    "Container Apps jobs need azure-mgmt-appcontainers:"
                    " pip install 'mlops-multicloud[azure]'."
                ) from exc
            self._jobs_client = ContainerAppsAPIClient(self.credential, self.subscription_id)
        return self._jobs_client

    @property
    def logs_client(self) -> Any:
        """A ``LogsQueryClient`` on the environment's Log Analytics workspace."""
        if self._logs_client is None:
            try:
                from azure.monitor.query import LogsQueryClient
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError(
                    "Job logs need azure-monitor-query: pip install 'mlops-multicloud[azure]'."
                ) from exc
            self._logs_client = LogsQueryClient(self.credential)
        return self._logs_client

    def launch(self, job: TrainingJob) -> str:
        from azure.core.exceptions import AzureError

        unconfigured = missing_settings(
            {
                "MLOPS_AZURE_SUBSCRIPTION_ID": self.subscription_id,
                "MLOPS_AZURE_RESOURCE_GROUP": self.resource_group,
                "MLOPS_AZURE_TRAINING_JOB": self.job,
                "MLOPS_AZURE_LOG_WORKSPACE_ID": self.workspace_id,
            }
        )
        if unconfigured is not None:
            raise JobStartError(unconfigured)
        try:
            template = self._execution_template(job)
            # polling=False: the first answer names the execution; the rest is ours to follow.
            poller = self.jobs_client.jobs.begin_start(
                self.resource_group, self.job, template=template, polling=False
            )
            execution = poller.result()
        except (AzureError, LookupError) as exc:
            raise JobStartError(_start_refused(_vendor_message(exc))) from exc
        name = getattr(execution, "name", None)
        if not name:
            raise JobStartError(_start_refused("its answer named no execution"))
        return str(name)

    def find(self, job: TrainingJob) -> str | None:
        with _unanswered():
            return self._find_execution(job)

    def describe(self, job: TrainingJob, run: str) -> RunState | None:
        from azure.core.exceptions import ResourceNotFoundError

        with _unanswered():
            try:
                execution = self.jobs_client.job_execution(self.resource_group, self.job, run)
            except ResourceNotFoundError:  # Container Apps keeps the last 100 executions
                return None
            lines = self._log_lines(job, run)
        state = str(getattr(execution.status, "value", execution.status) or "Unknown")
        started = _utc(execution.start_time)
        if state in _QUEUED or state not in _RUNNING | _ENDED:
            return RunState(RunPhase.QUEUED, lines)
        if state in _RUNNING:
            return RunState(RunPhase.RUNNING, lines, started_at=started)
        failure: str | None = None
        if state == "Stopped":
            failure = _STOPPED
        elif state == "Failed":  # Container Apps gives no exit code: the last line says why
            why = [getattr(execution, k, None) for k in ("reason", "message")]
            failure = exit_failure(None, lines, "; ".join(str(w) for w in why if w))
        return RunState(
            RunPhase.ENDED,
            lines,
            started_at=started,
            ended_at=_utc(execution.end_time),
            failure=failure,
            failure_logged=state != "Failed" or bool(lines),
        )

    def logs(self, job: TrainingJob, run: str) -> list[str]:
        with _unanswered():
            return self._log_lines(job, run)

    def _execution_template(self, job: TrainingJob) -> Any:
        """The job's own container with the training command: a start template replaces
        the job's, so the image, resources and environment are carried over."""
        from azure.mgmt.appcontainers.models import (
            EnvironmentVar,
            JobExecutionContainer,
            JobExecutionTemplate,
        )

        if self._template_container is None:
            definition = self.jobs_client.jobs.get(self.resource_group, self.job)
            containers = definition.template.containers if definition.template else None
            if not containers:
                raise LookupError(f"the Container Apps job {self.job} defines no container")
            self._template_container = containers[0]
        base = self._template_container
        env = [e for e in base.env or [] if e.name != JOB_ID_VARIABLE]
        return JobExecutionTemplate(
            containers=[
                JobExecutionContainer(
                    name=base.name,
                    image=base.image,
                    command=job.request.command(),
                    env=[*env, EnvironmentVar(name=JOB_ID_VARIABLE, value=job.id)],
                    resources=base.resources,
                )
            ]
        )

    def _find_execution(self, job: TrainingJob) -> str | None:
        """The execution a job's start created, when the server died before recording it."""
        for execution in self.jobs_client.jobs_executions.list(self.resource_group, self.job):
            template = getattr(execution, "template", None)
            for container in (template.containers or []) if template else []:
                for variable in container.env or []:
                    if variable.name == JOB_ID_VARIABLE and variable.value == job.id:
                        return str(execution.name)
        return None

    def _log_lines(self, job: TrainingJob, execution: str) -> list[str]:
        """The execution's console output, oldest first (its last ``LOG_ENTRIES_READ`` rows)."""
        from azure.core.exceptions import HttpResponseError

        if not _EXECUTION_NAME.match(execution):
            log.warning("unexpected execution name %r; its log is not read", execution)
            return []
        query = (
            "ContainerAppConsoleLogs_CL"
            f" | where ContainerGroupName_s startswith '{execution}-'"
            f" | top {LOG_ENTRIES_READ} by _timestamp_d desc"
            " | order by _timestamp_d asc"
            " | project Log_s"
        )
        timespan = (job.created_at - timedelta(minutes=5), datetime.now(UTC) + timedelta(minutes=5))
        try:
            result = self.logs_client.query_workspace(self.workspace_id, query, timespan=timespan)
        except HttpResponseError as exc:  # e.g. the table does not exist before the first log
            log.warning("could not read the training job's log: %s", _vendor_message(exc))
            return []
        tables = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
        rows = tables[0].rows if tables else []
        return [line for row in rows for line in log_lines(str(row["Log_s"] or ""))]


@contextlib.contextmanager
def _unanswered() -> Iterator[None]:
    """Azure errors while following a run, as the runner's ``RunnerUnavailableError``."""
    from azure.core.exceptions import AzureError

    try:
        yield
    except AzureError as exc:
        raise RunnerUnavailableError("Azure", _vendor_message(exc)) from exc


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _vendor_message(exc: Exception) -> str:
    """The first line of an Azure error: ``(Code) Message``."""
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _start_refused(reason: str) -> str:
    return start_refused(
        "Container Apps",
        reason,
        "the job name, the resource group and the app identity's role on the job",
    )
