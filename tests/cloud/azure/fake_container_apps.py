"""Container Apps jobs and Log Analytics at the SDK boundary, for the job runner.

:class:`FakeContainerApps` stands in for ``ContainerAppsAPIClient`` (its ``jobs`` and
``jobs_executions`` operations and ``job_execution``) with one manual job whose
container is ``train``. ``jobs.begin_start`` really runs the execution: the template's
command, with ``fake_train.py`` standing in for ``mlops``, in a thread that moves the
execution Processing -> Running -> Succeeded/Failed and writes each output line as a
``ContainerAppConsoleLogs_CL`` row of the replica ``<execution>-<suffix>``.
:meth:`FakeContainerApps.logs_client` answers ``query_workspace`` with those rows, for
the one KQL shape the runner sends (anything else is refused).

Models are the SDK's own (``Job``, ``JobExecution``...) and errors its exceptions
(``ResourceNotFoundError`` for an unknown job or execution, ``HttpResponseError`` 400
for a template Container Apps would refuse).
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.appcontainers.models import (
    Container,
    ContainerResources,
    EnvironmentVar,
    Job,
    JobConfiguration,
    JobExecution,
    JobExecutionBase,
    JobExecutionTemplate,
    JobTemplate,
)
from azure.monitor.query import LogsQueryResult, LogsTable

from tests.ports.fake_fargate import FAKE_TRAIN

# The one query shape the runner sends.
_KQL = re.compile(
    r"^ContainerAppConsoleLogs_CL"
    r" \| where ContainerGroupName_s startswith '(?P<prefix>[a-z0-9-]+)'"
    r" \| top (?P<top>\d+) by _timestamp_d desc"
    r" \| order by _timestamp_d asc"
    r" \| project Log_s$"
)


@dataclass
class _Execution:
    name: str
    template: JobExecutionTemplate
    replica: str
    status: str = "Processing"
    start_time: datetime | None = None
    end_time: datetime | None = None
    process: subprocess.Popen[str] | None = None


@dataclass
class _Row:
    generated: datetime
    timestamp: float
    group: str
    text: str


@dataclass
class FakeContainerApps:
    """Example::

    apps = FakeContainerApps()
    runner = ContainerAppsJobRunner(**apps.runner_arguments())
    ...
    apps.shutdown()
    """

    resource_group: str = "mlops"
    job: str = "mlops-train"
    container: str = "train"
    image: str = "mlopsacr.azurecr.io/mlops-app:test"
    workspace_id: str = "5b1c0d3e-0000-4000-8000-000000000001"
    executions: dict[str, _Execution] = field(default_factory=dict)
    rows: list[_Row] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: bool = False

    def __post_init__(self) -> None:
        self.jobs = _Jobs(self)
        self.jobs_executions = _JobsExecutions(self)

    # -- ContainerAppsAPIClient

    def job_execution(
        self, resource_group_name: str, job_name: str, job_execution_name: str, **_: Any
    ) -> JobExecution:
        self._check_job(resource_group_name, job_name)
        with self.lock:
            execution = self.executions.get(job_execution_name)
            if execution is None:
                raise ResourceNotFoundError(
                    message=f"(ResourceNotFound) Job execution {job_execution_name} not found."
                )
            return _model(execution, self.job)

    def logs_client(self) -> FakeLogsQueryClient:
        return FakeLogsQueryClient(self)

    def runner_arguments(self, **overrides: Any) -> dict[str, Any]:
        """``ContainerAppsJobRunner`` keyword arguments for this fake."""
        return {
            "subscription_id": "00000000-0000-4000-8000-000000000000",
            "resource_group": self.resource_group,
            "job": self.job,
            "workspace_id": self.workspace_id,
            "jobs_client": self,
            "logs_client": self.logs_client(),
            **overrides,
        }

    def shutdown(self) -> None:
        """Kill what still runs and wait for the execution threads."""
        self._stopping = True
        with self.lock:
            processes = [e.process for e in self.executions.values() if e.process is not None]
        for process in processes:
            if process.poll() is None:
                process.kill()
        for thread in self._threads:
            thread.join()

    # -- behind the API

    def _check_job(self, resource_group_name: str, job_name: str) -> None:
        if (resource_group_name, job_name) != (self.resource_group, self.job):
            raise ResourceNotFoundError(
                message=f"(ResourceNotFound) The Resource 'Microsoft.App/jobs/{job_name}' under"
                f" resource group '{resource_group_name}' was not found."
            )

    def definition(self) -> Job:
        return Job(
            location="francecentral",
            template=JobTemplate(
                containers=[
                    Container(
                        name=self.container,
                        image=self.image,
                        env=[
                            EnvironmentVar(name="MLOPS_CLOUD", value="azure"),
                            EnvironmentVar(
                                name="MLOPS_MLFLOW_TRACKING_URI", secret_ref="mlflow-uri"
                            ),
                        ],
                        resources=ContainerResources(cpu=1.0, memory="2Gi"),
                    )
                ]
            ),
            configuration=JobConfiguration(trigger_type="Manual", replica_timeout=3600),
        )

    def _start(self, template: JobExecutionTemplate) -> _Execution:
        containers = template.containers or []
        if len(containers) != 1 or containers[0].name != self.container or not containers[0].image:
            raise HttpResponseError(
                message="(ContainerAppInvalidTemplate) A start template names the job's"
                f" container {self.container!r} with its image."
            )
        command = [*(containers[0].command or []), *(containers[0].args or [])]
        if command[:1] != ["mlops"]:
            raise HttpResponseError(message=f"(BadRequest) unexpected command {command}")
        name = f"{self.job}-{secrets.token_hex(4)[:7]}"
        execution = _Execution(name, template, replica=f"{name}-{secrets.token_hex(3)[:5]}")
        with self.lock:
            self.executions[name] = execution
        thread = threading.Thread(target=self._run, args=(execution, command), daemon=True)
        self._threads.append(thread)
        thread.start()
        return execution

    def _run(self, execution: _Execution, command: list[str]) -> None:
        time.sleep(0.02)  # scheduling the replica
        if self._stopping:
            return
        process = subprocess.Popen(
            [sys.executable, str(FAKE_TRAIN), *command[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        with self.lock:
            execution.process = process
            execution.status = "Running"
            execution.start_time = datetime.now(UTC)
        assert process.stdout is not None
        for line in process.stdout:
            now = datetime.now(UTC)
            with self.lock:
                self.rows.append(_Row(now, now.timestamp(), execution.replica, line.rstrip("\n")))
        code = process.wait()
        with self.lock:
            execution.status = "Succeeded" if code == 0 else "Failed"
            execution.end_time = datetime.now(UTC)


class _Jobs:
    """``client.jobs``."""

    def __init__(self, apps: FakeContainerApps) -> None:
        self.apps = apps

    def get(self, resource_group_name: str, job_name: str, **_: Any) -> Job:
        self.apps._check_job(resource_group_name, job_name)
        return self.apps.definition()

    def begin_start(
        self,
        resource_group_name: str,
        job_name: str,
        template: JobExecutionTemplate | None = None,
        **options: Any,
    ) -> _Poller:
        if set(options) - {"polling"}:
            raise NotImplementedError(f"fake Container Apps: options {sorted(options)}")
        self.apps._check_job(resource_group_name, job_name)
        if template is None:
            raise NotImplementedError("fake Container Apps: a start without a template")
        execution = self.apps._start(template)
        return _Poller(JobExecutionBase(name=execution.name, id=f"/executions/{execution.name}"))


class _JobsExecutions:
    """``client.jobs_executions``."""

    def __init__(self, apps: FakeContainerApps) -> None:
        self.apps = apps

    def list(self, resource_group_name: str, job_name: str, **_: Any) -> Iterator[JobExecution]:
        self.apps._check_job(resource_group_name, job_name)
        with self.apps.lock:
            return iter([_model(e, job_name) for e in self.apps.executions.values()])


@dataclass
class _Poller:
    answer: JobExecutionBase

    def result(self, timeout: float | None = None) -> JobExecutionBase:
        return self.answer


def _model(execution: _Execution, job: str) -> JobExecution:
    model = JobExecution(name=execution.name, template=execution.template)
    model.status = execution.status
    model.start_time = execution.start_time
    model.end_time = execution.end_time
    return model


class FakeLogsQueryClient:
    """``LogsQueryClient.query_workspace`` over the fake's console log rows."""

    def __init__(self, apps: FakeContainerApps) -> None:
        self.apps = apps

    def query_workspace(
        self,
        workspace_id: str,
        query: str,
        *,
        timespan: timedelta | tuple[datetime, datetime] | tuple[datetime, timedelta] | None,
        **options: Any,
    ) -> LogsQueryResult:
        if options:
            raise NotImplementedError(f"fake Log Analytics: options {sorted(options)}")
        if workspace_id != self.apps.workspace_id:
            raise HttpResponseError(
                message=f"(WorkspaceNotFound) Workspace {workspace_id} not found"
            )
        match = _KQL.match(query)
        if match is None:
            raise NotImplementedError(f"fake Log Analytics: unsupported query {query!r}")
        start, end = _window(timespan)
        with self.apps.lock:
            rows = [
                r
                for r in self.apps.rows
                if r.group.startswith(match["prefix"]) and start <= r.generated <= end
            ]
        rows = sorted(rows, key=lambda r: r.timestamp)[-int(match["top"]) :]
        table = LogsTable(
            name="PrimaryResult",
            columns=["Log_s"],
            columns_types=["string"],
            rows=[[r.text] for r in rows],
        )
        return LogsQueryResult(tables=[table])


def _window(timespan: Any) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    if timespan is None:
        return datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    if isinstance(timespan, timedelta):
        return now - timespan, now
    start, second = timespan
    return start, second if isinstance(second, datetime) else start + second
