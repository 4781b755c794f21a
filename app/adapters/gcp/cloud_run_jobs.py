"""Training jobs as Cloud Run job executions, recorded in Firestore.

Documents of the ``jobs`` collection:

- ``jobs/<job id>``: a job. Ids start with the creation time in hex
  (:func:`~app.adapters.job_reports.new_job_id`); ``created_at`` orders the list
  (Firestore's automatic single-field index);
- ``jobs/lock``: the start lock, with ``active`` (the ids of queued and running jobs)
  and ``automatic_at`` (when the last automatic job was created). A start writes its
  job and the lock in one batch, under a ``last_update_time`` precondition on the lock
  read to check the cool-down; a finish records the outcome and takes the job out of
  ``active`` the same way. Of concurrent starts one commits; the others read the lock
  again and see the job.

``RunJob`` overrides the container's arguments only, so the Cloud Run job's container
runs ``mlops`` (its command) and the launcher passes ``train ... --report-json -``. The
report is one JSON line on stdout, which Cloud Run turns into a ``jsonPayload`` entry of
Cloud Logging; the launcher reads the execution's entries back (``resource.type =
"cloud_run_job"`` and the ``run.googleapis.com/execution_name`` label). A finished
job is written back to its document, so it never calls Cloud Run again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.adapters.gcp.firestore import document_id, fields_of, plain_datetime
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

if TYPE_CHECKING:
    from google.cloud import firestore

log = logging.getLogger(__name__)

JOBS = "jobs"
LOCK = "lock"  # never a job id: those are hex
# Cloud Logging may show the last lines a little after the execution completed.
_LOG_GRACE_SECONDS = 60
_NO_REPORT = report_missing("the execution's log")
_MAX_ATTEMPTS = 20
# Cloud Run's own lines about a container, in the execution's log.
_SYSTEM_LOG = "/logs/run.googleapis.com%2Fvarlog%2Fsystem"
_EXIT = re.compile(r"^Container called exit\((\d+)\)\.$")
_START_CHECK = (
    "the job name and region (MLOPS_GCP_TRAINING_JOB, MLOPS_GCP_REGION) and that the"
    " app's service account may run it (roles/run.developer on the job)"
)


class CloudRunJobLauncher:
    """A :class:`~app.ports.JobLauncher` that runs ``mlops train`` as a Cloud Run job.

    Example::

        launcher = CloudRunJobLauncher(firestore_client("my-project"), project="my-project",
                                       region="europe-west1", job="mlops-train")
        job = launcher.start(request, cooldown_seconds=3600)   # None: one runs or cooling down
        launcher.get(job.id).log_tail                          # from Cloud Logging
    """

    def __init__(
        self,
        client_firestore: firestore.Client,
        *,
        project: str,
        region: str,
        job: str,
        jobs_client: Any = None,
        executions_client: Any = None,
        logging_client: Any = None,
    ) -> None:
        self.client = client_firestore
        self.project = project
        self.region = region
        self.job = job
        self._jobs = jobs_client
        self._executions = executions_client
        self._logging = logging_client

    @property
    def jobs_client(self) -> Any:
        if self._jobs is None:
            from google.cloud import run_v2

            self._jobs = run_v2.JobsClient()
        return self._jobs

    @property
    def executions_client(self) -> Any:
        if self._executions is None:
            from google.cloud import run_v2

            self._executions = run_v2.ExecutionsClient()
        return self._executions

    @property
    def logging_client(self) -> Any:
        if self._logging is None:
            from google.cloud import logging_v2

            self._logging = logging_v2.Client(project=self.project)
        return self._logging

    @property
    def job_path(self) -> str:
        return f"projects/{self.project}/locations/{self.region}/jobs/{self.job}"

    def _ref(self, job_id: str) -> Any:
        return self.client.collection(JOBS).document(job_id)

    # -- the port

    def start(
        self, request: TrainingJobRequest, *, cooldown_seconds: float | None = None
    ) -> TrainingJob | None:
        now = datetime.now(UTC)
        cutoff = None if cooldown_seconds is None else now - timedelta(seconds=cooldown_seconds)
        if cutoff is not None and not self._may_start(cutoff):
            return None
        item = new_job_fields(request, now)
        if not self._create(item, automatic=request.reason is not JobReason.MANUAL, cutoff=cutoff):
            return None
        return self._launch(item)

    def get(self, job_id: str) -> TrainingJob:
        # Ids come from URLs: one that is no plain document id cannot name a job.
        plain = job_id != LOCK and document_id(job_id) == job_id
        snapshot = self._ref(job_id).get() if plain else None
        if snapshot is None or not snapshot.exists:
            raise JobNotFoundError(job_id)
        return self._current(fields_of(snapshot))

    def list(self, limit: int = 20) -> Sequence[TrainingJob]:
        query = (
            self.client.collection(JOBS).order_by("created_at", direction="DESCENDING").limit(limit)
        )
        return [self._current(fields_of(snapshot)) for snapshot in query.stream()]

    # -- starting

    def _may_start(self, cutoff: datetime) -> bool:
        """Whether a cool-down start can try its batch: not cooling down, and the jobs
        the lock holds have not finished unseen (nobody asked about them)."""
        lock = self._ref(LOCK).get()
        fields = fields_of(lock)
        if fields.get("automatic_at") is not None and fields["automatic_at"] > cutoff:
            return False
        finished = True
        for job_id in fields.get("active", []):
            try:
                finished = self.get(job_id).status.finished and finished
            except JobNotFoundError:  # deleted by hand: it must not hold the lock forever
                self._finish_lock(job_id)
        return finished

    def _create(self, item: dict[str, Any], *, automatic: bool, cutoff: datetime | None) -> bool:
        """Create the job and hold the lock for it in one batch; False if the cool-down
        condition does not hold (another replica started one)."""
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition

        lock_ref = self._ref(LOCK)
        for _ in range(_MAX_ATTEMPTS):
            lock = lock_ref.get()
            fields = fields_of(lock)
            active = list(fields.get("active", []))
            automatic_at = fields.get("automatic_at")
            if cutoff is not None and (
                active or (automatic_at is not None and automatic_at > cutoff)
            ):
                return False
            update: dict[str, Any] = {"active": [*active, item["id"]]}
            if automatic:
                update["automatic_at"] = item["created_at"]
            batch = self.client.batch()
            batch.create(self._ref(item["id"]), item)
            if lock.exists:
                option = self.client.write_option(last_update_time=lock.update_time)
                batch.update(lock_ref, update, option=option)
            else:
                batch.create(lock_ref, {"automatic_at": None, **update})
            try:
                batch.commit()
            except (FailedPrecondition, AlreadyExists):
                continue  # another start or finish wrote the lock: decide again
            return True
        raise RuntimeError(f"the training-job lock kept changing ({_MAX_ATTEMPTS} attempts)")

    def _launch(self, item: dict[str, Any]) -> TrainingJob:
        from google.api_core.exceptions import GoogleAPICallError
        from google.cloud import run_v2

        unconfigured = missing_settings(
            {
                "MLOPS_GCP_PROJECT": self.project,
                "MLOPS_GCP_REGION": self.region,
                "MLOPS_GCP_TRAINING_JOB": self.job,
            }
        )
        if unconfigured is not None:
            return self._finish(item, JobStatus.FAILED, error=unconfigured)
        request = run_v2.RunJobRequest(
            name=self.job_path,
            overrides=run_v2.RunJobRequest.Overrides(
                container_overrides=[
                    run_v2.RunJobRequest.Overrides.ContainerOverride(args=item["command"][1:])
                ]
            ),
        )
        try:
            operation = self.jobs_client.run_job(request=request)
            execution = operation.metadata
        except GoogleAPICallError as exc:
            reason = start_refused("Cloud Run", _google_message(exc), _START_CHECK)
            return self._finish(item, JobStatus.FAILED, error=reason)
        if execution is None or not execution.name:
            reason = start_refused("Cloud Run", "RunJob named no execution", _START_CHECK)
            return self._finish(item, JobStatus.FAILED, error=reason)
        item["execution"] = execution.name
        self._ref(item["id"]).update({"execution": execution.name})
        return _to_job(item)

    # -- following

    def _current(self, item: dict[str, Any]) -> TrainingJob:
        """The job as Cloud Run sees it now; a finished one straight from its document."""
        if JobStatus(item["status"]).finished:
            return _to_job(item)
        from google.api_core.exceptions import GoogleAPICallError

        try:
            return self._refresh(item)
        except GoogleAPICallError as exc:
            log.warning("training job %s: could not follow it: %s", item["id"], exc)
            note = unanswered("Google Cloud", _google_message(exc))
            return _to_job(item, log_tail=tail(item["command"], [note]))

    def _refresh(self, item: dict[str, Any]) -> TrainingJob:
        from google.api_core.exceptions import NotFound

        name = item.get("execution")
        if name is None:
            age = datetime.now(UTC) - item["created_at"]
            if age.total_seconds() < LAUNCH_GRACE_SECONDS:
                return _to_job(item)  # RunJob is on its way
            return self._finish(item, JobStatus.FAILED, error=start_lost("job"))
        try:
            execution = self.executions_client.get_execution(name=name)
        except NotFound:
            return self._forgotten(item, name)
        output = self._read_log(item, name)
        report, lines = split_report(output.lines)
        log_tail = tail(item["command"], lines)
        started = _datetime(execution.start_time)
        completed = _datetime(execution.completion_time)
        succeeded = execution.succeeded_count > 0
        failed = execution.failed_count > 0 or execution.cancelled_count > 0
        if completed is None and not (succeeded or failed):
            if started is None:
                return _to_job(item, log_tail=log_tail)
            if item["status"] == JobStatus.QUEUED.value:
                self._mark_running(item, started)
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=log_tail)
        completed = completed or datetime.now(UTC)
        failure: str | None
        if succeeded:
            failure = None  # its report decides
        elif output.exit_code is not None:  # e.g. "Memory limit of 2048 MiB exceeded..."
            failure = exit_failure(output.exit_code, lines, "; ".join(output.notes))
        else:  # the container never ran (image, secrets...): Cloud Run says why
            reasons = [_completed_message(execution), *output.notes]
            failure = stopped_before_training("job", reasons)
        verdict = judge(
            report,
            failure=failure,
            # The exit code, a line of Cloud Run's, arrives in the log like the others.
            failure_logged=output.exit_code is not None,
            log_settled=(datetime.now(UTC) - completed).total_seconds() >= _LOG_GRACE_SECONDS,
            no_report=_NO_REPORT,
        )
        if not verdict.status.finished:  # its last lines may not have reached Cloud Logging
            return _to_job(item, status=JobStatus.RUNNING, started_at=started, log_tail=log_tail)
        return self._finish(
            item,
            verdict.status,
            started_at=started,
            finished_at=completed,
            log_tail=log_tail,
            **verdict.fields,
        )

    def _forgotten(self, item: dict[str, Any], name: str) -> TrainingJob:
        """An execution Cloud Run no longer knows (deleted): its log still holds the
        report when ``mlops train`` succeeded."""
        report, lines = split_report(self._read_log(item, name).lines)
        verdict = judge_forgotten(report, "Cloud Run", f"the execution {name}")
        log_tail = tail(item["command"], lines)
        return self._finish(item, verdict.status, log_tail=log_tail, **verdict.fields)

    def _read_log(self, item: dict[str, Any], execution_name: str) -> _Log:
        """The execution's last log entries, oldest first: what the container printed,
        and what Cloud Run said about it (exit code, memory limit...)."""
        from google.api_core.exceptions import GoogleAPICallError
        from google.cloud import logging_v2

        since = item["created_at"] - timedelta(minutes=1)
        query = "\n".join(
            [
                'resource.type = "cloud_run_job"',
                f'resource.labels.job_name = "{self.job}"',
                f'resource.labels.location = "{self.region}"',
                f'labels."run.googleapis.com/execution_name" = "{execution_name.split("/")[-1]}"',
                f'timestamp >= "{since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}"',
            ]
        )
        try:
            entries = list(
                self.logging_client.list_entries(
                    resource_names=[f"projects/{self.project}"],
                    filter_=query,
                    order_by=logging_v2.DESCENDING,
                    max_results=LOG_ENTRIES_READ,
                    page_size=LOG_ENTRIES_READ,
                )
            )
        except GoogleAPICallError as exc:
            log.warning("could not read the training job's log: %s", exc)
            return _Log()
        found = _Log()
        for entry in reversed(entries):
            payload = entry.payload
            # Cloud Run parses a JSON line on stdout into a jsonPayload: the report.
            text = json.dumps(payload) if isinstance(payload, dict) else str(payload or "")
            system = str(entry.log_name or "").endswith(_SYSTEM_LOG)
            for line in log_lines(text):
                exit_code = _EXIT.match(line) if system else None
                if exit_code is not None:
                    found.exit_code = int(exit_code[1])
                else:
                    (found.notes if system else found.lines).append(line)
        return found

    def _mark_running(self, item: dict[str, Any], started: datetime) -> None:
        """Record the start once, so the last known status stays true when Cloud Run
        cannot be asked."""
        from google.api_core.exceptions import FailedPrecondition

        ref = self._ref(item["id"])
        snapshot = ref.get()
        item.update(status=JobStatus.RUNNING.value, started_at=started)
        if fields_of(snapshot).get("status") != JobStatus.QUEUED.value:
            return  # another replica recorded it (or finished it)
        option = self.client.write_option(last_update_time=snapshot.update_time)
        with contextlib.suppress(FailedPrecondition):  # another replica wrote it first
            ref.update({"status": JobStatus.RUNNING.value, "started_at": started}, option=option)

    # -- finishing

    def _finish(self, item: dict[str, Any], status: JobStatus, **fields: Any) -> TrainingJob:
        """Record the outcome and release the lock in one batch (once: a replica that
        finished it first wins, and its record is returned)."""
        from google.api_core.exceptions import FailedPrecondition

        values: dict[str, Any] = {
            "status": status.value,
            **{k: v for k, v in fields.items() if v is not None},
        }
        values["finished_at"] = fields.get("finished_at") or datetime.now(UTC)
        job_ref, lock_ref = self._ref(item["id"]), self._ref(LOCK)
        for _ in range(_MAX_ATTEMPTS):
            job, lock = job_ref.get(), lock_ref.get()
            if JobStatus(fields_of(job)["status"]).finished:
                return _to_job(fields_of(job))
            batch = self.client.batch()
            option = self.client.write_option(last_update_time=job.update_time)
            batch.update(job_ref, values, option=option)
            active = fields_of(lock).get("active", [])
            if item["id"] in active:
                remaining = [job_id for job_id in active if job_id != item["id"]]
                option = self.client.write_option(last_update_time=lock.update_time)
                batch.update(lock_ref, {"active": remaining}, option=option)
            try:
                batch.commit()
            except FailedPrecondition:
                continue
            log.info("training job %s %s", item["id"], status.value)
            return _to_job({**fields_of(job), **values})
        raise RuntimeError(f"training job {item['id']} kept changing ({_MAX_ATTEMPTS} attempts)")

    def _finish_lock(self, job_id: str) -> None:
        """Take a job that no longer exists out of the lock."""
        from google.api_core.exceptions import FailedPrecondition

        lock_ref = self._ref(LOCK)
        for _ in range(_MAX_ATTEMPTS):
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


@dataclass
class _Log:
    lines: list[str] = field(default_factory=list)  # the container's output
    notes: list[str] = field(default_factory=list)  # Cloud Run's, but the exit code
    exit_code: int | None = None


def _datetime(value: datetime | None) -> datetime | None:
    """A plain UTC datetime from a proto or Firestore timestamp (unset: None)."""
    return None if value is None else plain_datetime(value)


def _completed_message(execution: Any) -> str:
    for condition in execution.conditions:
        if condition.type_ == "Completed" and condition.message:
            return str(condition.message).rstrip(".")
    return ""


def _google_message(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    code = getattr(exc, "code", None)
    return f"{code} {message}".strip() if message and code else str(exc)


def _to_job(item: dict[str, Any], **now: Any) -> TrainingJob:
    """The job stored as ``item``; ``now``: what Cloud Run says in place of the stored
    status, start and log tail."""
    return to_training_job(item, when=plain_datetime, **now)
