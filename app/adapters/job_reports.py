"""What every cloud's training-job launcher shares: the record, the command, the verdict.

A job runs ``mlops train ... --report-json -``: the training report is one JSON line
on stdout, which reaches the cloud's log service (CloudWatch Logs, Log Analytics,
Cloud Logging). A launcher reads the log back, splits the report from the other
lines and keeps the last ones as the job's log tail, headed by the command line.
Once the cloud says the run ended, :func:`judge` turns its word, the report and the
log into the outcome to record. Each launcher keeps its own storage and its cloud's
calls; the fields it stores, the messages users read and the rules are the same
everywhere. No I/O and no SDK here.

Example::

    fields = new_job_fields(request, time.time())   # id, request, command, status, created_at
    report, lines = split_report(log_lines(text))   # ({"version": "5", "promoted": True}, [...])
    verdict = judge(report, failure=None, log_settled=True, no_report=report_missing("the log"))
    job = to_training_job(fields, when=datetime.fromisoformat, log_tail=tail(command, lines))
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain.jobs import JobReason, JobStatus, TrainingJob, TrainingJobRequest

LOG_TAIL_LINES = 20
# Read from the end of a run's log: enough entries for the tail and the report line.
LOG_ENTRIES_READ = 100
# A job with no run this long after its creation lost its start (the server died
# between asking the cloud and recording the answer).
LAUNCH_GRACE_SECONDS = 300


# -- the record


def new_job_id() -> str:
    """Creation time in hex, then randomness: ids sort newest last, as strings too."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def training_command(request: TrainingJobRequest) -> list[str]:
    """The argv a job container runs for ``request``."""
    return ["mlops", *request.train_arguments(), "--report-json", "-"]


def request_to_json(request: TrainingJobRequest) -> str:
    return json.dumps(asdict(request))


def request_from_json(text: str) -> TrainingJobRequest:
    fields: dict[str, Any] = json.loads(text)
    return TrainingJobRequest(**{**fields, "reason": JobReason(fields["reason"])})


def new_job_fields(request: TrainingJobRequest, created_at: object) -> dict[str, Any]:
    """A queued job's fields, created at ``created_at`` (in the store's format): the
    request as JSON text, the command as a list."""
    return {
        "id": new_job_id(),
        "request": request_to_json(request),
        "command": training_command(request),
        "status": JobStatus.QUEUED.value,
        "created_at": created_at,
    }


def to_training_job(
    fields: Mapping[str, Any],
    *,
    when: Callable[[Any], datetime],
    status: JobStatus | None = None,
    started_at: Any = None,
    log_tail: str | None = None,
) -> TrainingJob:
    """The job stored as ``fields`` (plain values, times as the store keeps them and
    ``when`` reads them); ``status``, ``started_at`` and ``log_tail``, when given, are
    what the cloud says now in place of the stored ones."""
    created = fields.get("created_at")
    started = started_at if started_at is not None else fields.get("started_at")
    finished = fields.get("finished_at")
    promoted = fields.get("promoted")
    return TrainingJob(
        id=fields["id"],
        request=request_from_json(fields["request"]),
        status=status or JobStatus(fields["status"]),
        created_at=when(created) if created is not None else datetime.now(UTC),
        started_at=when(started) if started is not None else None,
        finished_at=when(finished) if finished is not None else None,
        model_version=fields.get("model_version"),
        promoted=None if promoted is None else bool(promoted),
        error=fields.get("error"),
        log_tail=log_tail
        if log_tail is not None
        else (fields.get("log_tail") or tail(fields["command"], [])),
    )


# -- the log


def log_lines(text: str) -> list[str]:
    """The lines of a log entry as a terminal showed them: a progress bar's carriage
    returns keep only its last state; blank lines go."""
    lines = (line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n"))
    return [line for line in lines if line]


def split_report(lines: Sequence[str]) -> tuple[dict | None, list[str]]:
    """The training report (the last JSON line with a version) and the other lines."""
    for index in range(len(lines) - 1, -1, -1):
        if not lines[index].startswith("{"):
            continue
        try:
            report = json.loads(lines[index])
        except ValueError:
            continue
        if isinstance(report, dict) and {"version", "promoted"} <= report.keys():
            return report, [*lines[:index], *lines[index + 1 :]]
    return None, list(lines)


def tail(command: Sequence[str], lines: Sequence[str]) -> str:
    """The command line the job ran, then the last lines of its log."""
    return "\n".join([f"$ {' '.join(command)}", *lines[-LOG_TAIL_LINES:]])


# -- the verdict on a run that ended


@dataclass(frozen=True)
class Verdict:
    """What a run that ended comes to: SUCCEEDED with the version its report names,
    FAILED with why, or RUNNING while the lines that decide are still on their way."""

    status: JobStatus
    model_version: str | None = None
    promoted: bool | None = None
    error: str | None = None

    @classmethod
    def reported(cls, report: Mapping[str, Any]) -> Verdict:
        return cls(
            JobStatus.SUCCEEDED,
            model_version=str(report["version"]),
            promoted=bool(report["promoted"]),
        )

    @property
    def fields(self) -> dict[str, Any]:
        """The fields a launcher records with the status (those that are set)."""
        fields = {
            "model_version": self.model_version,
            "promoted": self.promoted,
            "error": self.error,
        }
        return {name: value for name, value in fields.items() if value is not None}


def judge(
    report: Mapping[str, Any] | None,
    *,
    failure: str | None,
    failure_logged: bool = True,
    log_settled: bool,
    no_report: str,
) -> Verdict:
    """A run that ended, judged from what its cloud says and what its log holds.

    ``failure`` is None when the cloud says ``mlops train`` succeeded, else why it did
    not; ``failure_logged`` whether the log already holds what explains it. A log
    service shows the last lines late: until ``log_settled`` (the grace period after
    the run ended is over), a success without its report or a failure without its
    explanation is still RUNNING; after it, the success fails with ``no_report``.

    Example::

        judge({"version": "5", "promoted": True}, failure=None, log_settled=False, no_report="")
        # Verdict(status=JobStatus.SUCCEEDED, model_version="5", promoted=True, error=None)
    """
    if failure is None and report is not None:
        return Verdict.reported(report)
    if not log_settled and (failure is None or not failure_logged):
        return Verdict(JobStatus.RUNNING)
    return Verdict(JobStatus.FAILED, error=no_report if failure is None else failure)


def judge_forgotten(report: Mapping[str, Any] | None, service: str, run: str) -> Verdict:
    """A run its cloud no longer knows: the report in its log is all that is left."""
    if report is not None:
        return Verdict.reported(report)
    return Verdict(
        JobStatus.FAILED,
        error=f"{service} no longer knows {run} and its log holds no report;"
        " look for its version in GET /v1/models, or start a new job.",
    )


# -- what users read: one sentence, with what to do next


def missing_settings(settings: Mapping[str, object]) -> str | None:
    """Why a deployment cannot run jobs: the settings (name: value) left empty; None
    when all are set."""
    missing = [name for name, value in settings.items() if not value]
    if not missing:
        return None
    return f"Training jobs are not configured on this deployment: set {', '.join(missing)}."


def start_refused(service: str, reason: str, check: str) -> str:
    """A start the cloud refused: what it said and what to look at."""
    return (
        f"{service} could not start the training job ({reason}); check {check},"
        " then start a new job."
    )


def start_lost(run: str) -> str:
    """A job whose ``run`` ("task", "job") the cloud never started: the server stopped
    before the start was recorded, and none was found after ``LAUNCH_GRACE_SECONDS``."""
    return (
        f"The training {run} was never started (the server stopped while starting it);"
        " start a new job."
    )


def unanswered(cloud: str, message: str) -> str:
    """The log-tail note of a job shown as last recorded because ``cloud`` did not answer."""
    return f"({cloud} did not answer: {message}; this is the last known status)"


def report_missing(log: str, check: str = "") -> str:
    """A run that succeeded without its report in ``log``: what to check, where to look."""
    step = f"check {check}, then look" if check else "look"
    return (
        f"mlops train finished but its report is not in {log}; {step} the version up"
        " in GET /v1/models."
    )


def stopped_before_training(run: str, reasons: Sequence[str | None]) -> str:
    """A ``run`` that ended before ``mlops train`` ran (image pull, secrets...): the
    cloud's ``reasons``."""
    why = "; ".join(reason for reason in reasons if reason)
    return f"The training {run} stopped before mlops train ran: {why or '?'}."


def exit_failure(code: int | None, lines: Sequence[str], detail: str | None = None) -> str:
    """Why ``mlops train`` failed: its exit code (None: the cloud does not say), what
    the cloud said (``detail``) and its last line, which usually says why."""
    last = lines[-1] if lines else "no output"
    how = "failed" if code is None else f"exited with code {code}"
    suffix = f" ({detail})" if detail else ""
    return f"mlops train {how}{suffix}: {last}"
