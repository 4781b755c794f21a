"""Training runs as Cloud Run job executions, their logs in Cloud Logging.

``RunJob`` overrides the container's arguments only, so the Cloud Run job's container
runs ``mlops`` (its command) and the runner passes ``train ... --report-json -``. The
report is one JSON line on stdout, which Cloud Run turns into a ``jsonPayload`` entry of
Cloud Logging; the runner reads the execution's entries back (``resource.type =
"cloud_run_job"`` and the ``run.googleapis.com/execution_name`` label). A run is named
by its execution's full name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.adapters.gcp.firestore import plain_datetime
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

# Cloud Run's own lines about a container, in the execution's log.
_SYSTEM_LOG = "/logs/run.googleapis.com%2Fvarlog%2Fsystem"
_EXIT = re.compile(r"^Container called exit\((\d+)\)\.$")
_START_CHECK = (
    "the job name and region (MLOPS_GCP_TRAINING_JOB, MLOPS_GCP_REGION) and that the"
    " app's service account may run it (roles/run.developer on the job)"
)


class CloudRunJobRunner:
    """A :class:`~app.ports.JobRunner` that runs ``mlops train`` as a Cloud Run job.

    Example::

        runner = CloudRunJobRunner(project="my-project", region="europe-west1", job="mlops-train")
        run = runner.launch(job)                 # projects/.../executions/mlops-train-x7k2p
        runner.describe(job, run).lines          # from Cloud Logging
    """

    service = "Cloud Run"
    run_noun = "job"
    # Cloud Logging may show the last lines a little after the execution completed.
    log_grace_seconds = 60.0
    no_report = report_missing("the execution's log")

    def __init__(
        self,
        *,
        project: str,
        region: str,
        job: str,
        jobs_client: Any = None,
        executions_client: Any = None,
        logging_client: Any = None,
    ) -> None:
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

    def launch(self, job: TrainingJob) -> str:
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
            raise JobStartError(unconfigured)
        request = run_v2.RunJobRequest(
            name=self.job_path,
            overrides=run_v2.RunJobRequest.Overrides(
                container_overrides=[
                    run_v2.RunJobRequest.Overrides.ContainerOverride(args=job.request.command()[1:])
                ]
            ),
        )
        try:
            execution = self.jobs_client.run_job(request=request).metadata
        except GoogleAPICallError as exc:
            raise JobStartError(
                start_refused("Cloud Run", _google_message(exc), _START_CHECK)
            ) from exc
        if execution is None or not execution.name:
            raise JobStartError(
                start_refused("Cloud Run", "RunJob named no execution", _START_CHECK)
            )
        return str(execution.name)

    def find(self, job: TrainingJob) -> str | None:
        return None  # RunJob carries nothing of the job to find its execution by

    def describe(self, job: TrainingJob, run: str) -> RunState | None:
        from google.api_core.exceptions import NotFound

        with _unanswered():
            try:
                execution = self.executions_client.get_execution(name=run)
            except NotFound:
                return None
            output = self._read_log(job, run)
        started = _datetime(execution.start_time)
        completed = _datetime(execution.completion_time)
        succeeded = execution.succeeded_count > 0
        failed = execution.failed_count > 0 or execution.cancelled_count > 0
        if completed is None and not (succeeded or failed):
            if started is None:
                return RunState(RunPhase.QUEUED, output.lines)
            return RunState(RunPhase.RUNNING, output.lines, started_at=started)
        failure: str | None
        if succeeded:
            failure = None  # its report decides
        elif output.exit_code is not None:  # e.g. "Memory limit of 2048 MiB exceeded..."
            failure = exit_failure(output.exit_code, output.lines, "; ".join(output.notes))
        else:  # the container never ran (image, secrets...): Cloud Run says why
            reasons = [_completed_message(execution), *output.notes]
            failure = stopped_before_training("job", reasons)
        return RunState(
            RunPhase.ENDED,
            output.lines,
            started_at=started,
            ended_at=completed,
            failure=failure,
            # The exit code, a line of Cloud Run's, arrives in the log like the others.
            failure_logged=output.exit_code is not None,
        )

    def logs(self, job: TrainingJob, run: str) -> list[str]:
        with _unanswered():
            return self._read_log(job, run).lines

    def _read_log(self, job: TrainingJob, execution_name: str) -> _Log:
        """The execution's last log entries, oldest first: what the container printed,
        and what Cloud Run said about it (exit code, memory limit...)."""
        from google.api_core.exceptions import GoogleAPICallError
        from google.cloud import logging_v2

        since = job.created_at - timedelta(minutes=1)
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


@contextlib.contextmanager
def _unanswered() -> Iterator[None]:
    """Google errors while following a run, as the runner's ``RunnerUnavailableError``."""
    from google.api_core.exceptions import GoogleAPICallError

    try:
        yield
    except GoogleAPICallError as exc:
        raise RunnerUnavailableError("Google Cloud", _google_message(exc)) from exc
