"""Training jobs as Container Apps job executions, recorded in the Cosmos ``jobs`` container.

Items (all in the one logical partition ``pk`` = ``"jobs"``, so a transactional batch
can span them):

- a job: ``id`` = the job id (creation time in hex, so ``ORDER BY c.id DESC`` lists
  newest first), ``kind`` = ``"job"``, the request, the command, the status and, once
  started, the ``execution`` name;
- the start lock: ``id`` = ``"lock"``, with ``active`` (ids of queued and running
  jobs) and ``automatic_at`` (when the last automatic job was created). A start
  creates its job and replaces the lock, conditional on the lock's etag, in one
  transactional batch: of concurrent triggers one wins, the others read the lock
  again and see the job running. A finish records the outcome and removes the job
  from ``active`` in one batch the same way.

An execution runs the job's own container (image, resources, environment) with the
command ``mlops train ... --report-json -`` and ``MLOPS_TRAINING_JOB_ID`` added, which
finds the execution again if the server dies before recording its name. The report
is one JSON line on stdout; the environment ships console output to Log Analytics
(``ContainerAppConsoleLogs_CL``, rows of ``Log_s`` per replica ``ContainerGroupName_s``
= ``<execution>-<suffix>``) and the launcher reads it back with a KQL query. Log
Analytics ingests with a delay of a minute or more, so an execution that ended
without its report in the log is judged only after ``_LOG_GRACE_SECONDS``. A
finished job is written back to its item and never asks Azure again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.adapters.azure.cosmos import _Container, _if_unchanged
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
    tail,
    to_training_job,
    unanswered,
)
from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJob, TrainingJobRequest

if TYPE_CHECKING:
    from azure.cosmos import DatabaseProxy

log = logging.getLogger(__name__)

JOB_ID_VARIABLE = "MLOPS_TRAINING_JOB_ID"
_PK = "jobs"
_LOCK_ID = "lock"
_ATTEMPTS = 20
# Log Analytics shows console lines a minute or more after they were written.
_LOG_GRACE_SECONDS = 300
_NO_REPORT = report_missing(
    "the job's log", "that the environment sends console logs to Log Analytics"
)
_QUEUED = {"Processing"}
_RUNNING = {"Running", "Degraded"}
_ENDED = {"Succeeded", "Failed", "Stopped"}
# Azure names executions <job>-<suffix>: lowercase letters, digits and dashes only, which
# is also what makes the name safe inside the KQL string below.
_EXECUTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ContainerAppsJobLauncher(_Container):
    """A :class:`~app.ports.JobLauncher` that runs ``mlops train`` as a Container Apps job.

    Example::

        launcher = ContainerAppsJobLauncher(cosmos_database(endpoint, "mlops"),
                                            subscription_id="0000-...", resource_group="mlops",
                                            job="mlops-train", workspace_id="5b1c-...")
        job = launcher.start(request, cooldown_seconds=3600)   # None: one runs or cooling down
        launcher.get(job.id).log_tail                          # from Log Analytics
    """

    def __init__(
        self,
        database: DatabaseProxy | Any,
        *,
        subscription_id: str,
        resource_group: str,
        job: str,
        workspace_id: str,
        jobs_client: Any = None,
        logs_client: Any = None,
    ) -> None:
        super().__init__(database, "jobs")
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

    # -- the port

    def start(
        self, request: TrainingJobRequest, *, cooldown_seconds: float | None = None
    ) -> TrainingJob | None:
        now = time.time()
        cutoff = None if cooldown_seconds is None else now - cooldown_seconds
        if cutoff is not None and not self._may_start(cutoff):
            return None
        item = {**new_job_fields(request, now), "pk": _PK, "kind": "job"}
        if not self._create(item, automatic=request.reason is not JobReason.MANUAL, cutoff=cutoff):
            return None
        return self._launch(item)

    def get(self, job_id: str) -> TrainingJob:
        return self._current(self._job_item(job_id))

    def list(self, limit: int = 20) -> Sequence[TrainingJob]:
        items = self._query(
            "SELECT TOP @limit * FROM c WHERE c.kind = @kind ORDER BY c.id DESC",
            {"limit": limit, "kind": "job"},
            pk=_PK,
        )
        return [self._current(item) for item in items]

    # -- the items

    def _job_item(self, job_id: str) -> dict[str, Any]:
        item = self._read(job_id, _PK)
        if item is None or item.get("kind") != "job":
            raise JobNotFoundError(job_id)
        return item

    def _update_job(self, job_id: str, when: str | None = None, **fields: Any) -> dict | None:
        """Set ``fields`` on the job (only while its status is ``when``, if given); the
        new item, or None when the status had moved on."""
        from azure.cosmos.exceptions import CosmosAccessConditionFailedError

        for _ in range(_ATTEMPTS):
            item = self._job_item(job_id)
            if when is not None and item["status"] != when:
                return None
            try:
                saved: dict = self.container.replace_item(
                    job_id, {**item, **fields}, **_if_unchanged(item)
                )
                return saved
            except CosmosAccessConditionFailedError:
                continue
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

    # -- starting

    def _may_start(self, cutoff: float) -> bool:
        """Whether a cool-down start can try its batch: not cooling down, and the jobs
        the lock holds have not finished unseen (nobody asked about them)."""
        lock = self._read(_LOCK_ID, _PK) or {}
        if lock.get("automatic_at", 0) > cutoff:
            return False
        finished = True
        for job_id in lock.get("active", []):
            try:
                finished = self.get(job_id).status.finished and finished
            except JobNotFoundError:  # deleted by hand: it must not hold the lock forever
                self._release(job_id)
        return finished

    def _release(self, job_id: str) -> None:
        for _ in range(_ATTEMPTS):
            lock = self._read(_LOCK_ID, _PK)
            if lock is None or job_id not in lock.get("active", []):
                return
            active = [j for j in lock["active"] if j != job_id]
            replace = ("replace", (_LOCK_ID, {**lock, "active": active}), _if_match(lock))
            if self._batch([replace]):
                return

    def _create(self, item: dict[str, Any], *, automatic: bool, cutoff: float | None) -> bool:
        """Create the job and hold the lock for it in one batch; False if the cool-down
        condition fails (another replica started one)."""
        for _ in range(_ATTEMPTS):
            lock = self._read(_LOCK_ID, _PK)
            held = lock or {"id": _LOCK_ID, "pk": _PK, "kind": "lock", "active": []}
            if cutoff is not None and (held["active"] or held.get("automatic_at", 0) > cutoff):
                return False
            new_lock = {**held, "active": [*held["active"], item["id"]]}
            if automatic:
                new_lock["automatic_at"] = item["created_at"]
            hold = (
                ("replace", (_LOCK_ID, new_lock), _if_match(lock))
                if lock is not None
                else ("create", (new_lock,))
            )
            if self._batch([hold, ("create", (item,))]):
                return True
        raise RuntimeError("the training job lock kept changing; try again")

    def _launch(self, item: dict[str, Any]) -> TrainingJob:
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
            return self._finish(item, JobStatus.FAILED, error=unconfigured)
        try:
            template = self._execution_template(item)
            # polling=False: the first answer names the execution; the rest is ours to follow.
            poller = self.jobs_client.jobs.begin_start(
                self.resource_group, self.job, template=template, polling=False
            )
            execution = poller.result()
        except (AzureError, LookupError) as exc:
            return self._finish(item, JobStatus.FAILED, error=_start_refused(_vendor_message(exc)))
        name = getattr(execution, "name", None)
        if not name:
            error = _start_refused("its answer named no execution")
            return self._finish(item, JobStatus.FAILED, error=error)
        self._update_job(item["id"], execution=name)
        item["execution"] = name
        return _to_job(item)

    def _execution_template(self, item: dict[str, Any]) -> Any:
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
                    command=list(item["command"]),
                    env=[*env, EnvironmentVar(name=JOB_ID_VARIABLE, value=item["id"])],
                    resources=base.resources,
                )
            ]
        )

    # -- following

    def _current(self, item: dict[str, Any]) -> TrainingJob:
        """The job as Container Apps sees it now; a finished one straight from its item."""
        if JobStatus(item["status"]).finished:
            return _to_job(item)
        from azure.core.exceptions import AzureError

        try:
            return self._refresh(item)
        except AzureError as exc:
            log.warning("training job %s: could not follow it: %s", item["id"], exc)
            note = unanswered("Azure", _vendor_message(exc))
            return _to_job(item, log_tail=tail(item["command"], [note]))

    def _refresh(self, item: dict[str, Any]) -> TrainingJob:
        from azure.core.exceptions import ResourceNotFoundError

        name = item.get("execution")
        if name is None:
            if time.time() - item["created_at"] < LAUNCH_GRACE_SECONDS:
                return _to_job(item)  # the start is on its way
            name = self._find_execution(item)
            if name is None:
                return self._finish(item, JobStatus.FAILED, error=start_lost("job"))
            self._update_job(item["id"], execution=name)
            item["execution"] = name
        try:
            execution = self.jobs_client.job_execution(self.resource_group, self.job, name)
        except ResourceNotFoundError:  # Container Apps keeps the last 100 executions
            return self._forgotten(item, name)
        report, lines = split_report(self._log_lines(item, name))
        log_tail = tail(item["command"], lines)
        state = str(getattr(execution.status, "value", execution.status) or "Unknown")
        started = _epoch(execution.start_time)
        if state in _QUEUED or state not in _RUNNING | _ENDED:
            return _to_job(item, log_tail=log_tail)
        if state in _RUNNING:
            if item["status"] == JobStatus.QUEUED.value:
                self._update_job(
                    item["id"],
                    when=JobStatus.QUEUED.value,
                    status=JobStatus.RUNNING.value,
                    started_at=started or time.time(),
                )
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=log_tail)
        ended = _epoch(execution.end_time) or time.time()
        failure: str | None = None
        if state == "Stopped":
            failure = "The training job execution was stopped (by hand or at its replica timeout)"
            failure += " before it finished; start a new job."
        elif state == "Failed":  # Container Apps gives no exit code: the last line says why
            why = [getattr(execution, k, None) for k in ("reason", "message")]
            failure = exit_failure(None, lines, "; ".join(str(w) for w in why if w))
        verdict = judge(
            report,
            failure=failure,
            failure_logged=state != "Failed" or bool(lines),
            log_settled=time.time() - ended >= _LOG_GRACE_SECONDS,
            no_report=_NO_REPORT,
        )
        if not verdict.status.finished:  # its last lines may not have reached Log Analytics
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=log_tail)
        return self._finish(
            item,
            verdict.status,
            started_at=started,
            finished_at=ended,
            log_tail=log_tail,
            **verdict.fields,
        )

    def _forgotten(self, item: dict[str, Any], name: str) -> TrainingJob:
        """An execution Container Apps no longer lists: its log still holds the report
        when ``mlops train`` succeeded."""
        report, lines = split_report(self._log_lines(item, name))
        verdict = judge_forgotten(report, "Container Apps", f"the execution {name}")
        log_tail = tail(item["command"], lines)
        return self._finish(item, verdict.status, log_tail=log_tail, **verdict.fields)

    def _find_execution(self, item: dict[str, Any]) -> str | None:
        """The execution a job's start created, when the server died before recording it."""
        for execution in self.jobs_client.jobs_executions.list(self.resource_group, self.job):
            template = getattr(execution, "template", None)
            for container in (template.containers or []) if template else []:
                for variable in container.env or []:
                    if variable.name == JOB_ID_VARIABLE and variable.value == item["id"]:
                        return str(execution.name)
        return None

    def _log_lines(self, item: dict[str, Any], execution: str) -> Sequence[str]:
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
        created = datetime.fromtimestamp(item["created_at"], UTC)
        timespan = (created - timedelta(minutes=5), datetime.now(UTC) + timedelta(minutes=5))
        try:
            result = self.logs_client.query_workspace(self.workspace_id, query, timespan=timespan)
        except HttpResponseError as exc:  # e.g. the table does not exist before the first log
            log.warning("could not read the training job's log: %s", _vendor_message(exc))
            return []
        tables = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
        rows = tables[0].rows if tables else []
        return [line for row in rows for line in log_lines(str(row["Log_s"] or ""))]

    # -- finishing

    def _finish(self, item: dict[str, Any], status: JobStatus, **fields: Any) -> TrainingJob:
        """Record the outcome and release the lock in one batch (once: a replica that
        finished it first wins, and its record is returned)."""
        values = {k: v for k, v in fields.items() if v is not None}
        values["status"] = status.value
        values["finished_at"] = values.get("finished_at") or time.time()
        job_id = item["id"]
        for _ in range(_ATTEMPTS):
            current = self._job_item(job_id)
            if JobStatus(current["status"]).finished:
                return _to_job(current)
            finished = {**current, **values}
            operations = [("replace", (job_id, finished), _if_match(current))]
            lock = self._read(_LOCK_ID, _PK)
            if lock is not None and job_id in lock.get("active", []):
                active = [j for j in lock["active"] if j != job_id]
                operations.append(
                    ("replace", (_LOCK_ID, {**lock, "active": active}), _if_match(lock))
                )
            if self._batch(operations):
                log.info("training job %s %s", job_id, status.value)
                return _to_job(finished)
        raise RuntimeError(f"training job {job_id}: its item kept changing")


def _if_match(item: dict[str, Any] | None) -> dict[str, Any]:
    """A batch operation's condition on ``item``'s etag."""
    return {"if_match_etag": item["_etag"]} if item is not None else {}


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


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


def _to_job(item: dict[str, Any], **now: Any) -> TrainingJob:
    """The job stored as ``item``; ``now``: what Container Apps says in place of the
    stored status, start (epoch seconds) and log tail."""
    return to_training_job(item, when=_from_epoch, **now)


def _from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
