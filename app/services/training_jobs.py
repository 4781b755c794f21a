"""Training jobs: start one under the cool-down, follow it, judge it, record the outcome.

The flow is written once; a :class:`~app.ports.JobStore` keeps the records and the start
lock, a :class:`~app.ports.JobRunner` starts runs and says how they go. A job is judged
when someone asks about it (``get``, ``list``, the next cool-down start) or, for a
runner that sees its runs end (a local subprocess), as soon as it ends. A finished job
is served from its record and never asks the runner again.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.job_reports import forgotten, start_lost, unanswered
from app.domain.jobs import (
    JobNotFoundError,
    JobRecord,
    JobStartError,
    JobStatus,
    RunnerUnavailableError,
    RunPhase,
    TrainingJob,
    TrainingJobRequest,
)
from app.ports import JobRunner, JobStore

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20
# A job with no run this long after its creation lost its start (the server died
# between asking the runner and recording the answer).
LAUNCH_GRACE_SECONDS = 300


class TrainingJobs:
    """Starts ``mlops train`` through a runner and follows it.

    ``on_finished`` is called with each job this process records as finished (the app
    serves a promoted version at once).

    Example::

        jobs = TrainingJobs(DynamoJobStore("mlops-records"), EcsJobRunner(cluster="mlops", ...))
        job = jobs.start(request, cooldown_seconds=3600)   # None: one runs, or cooling down
        jobs.get(job.id).status                            # JobStatus.RUNNING
    """

    def __init__(
        self,
        store: JobStore,
        runner: JobRunner,
        *,
        on_finished: Callable[[TrainingJob], object] | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.on_finished = on_finished

    def start(
        self, request: TrainingJobRequest, *, cooldown_seconds: float | None = None
    ) -> TrainingJob | None:
        """Queue and start a job and return it.

        With ``cooldown_seconds``, start it only if no job is queued or running and
        no automatically triggered job was created in that many seconds; return
        ``None`` otherwise. The check and the creation are one atomic step of the
        store, so replicas reacting to the same feedback start one job between them.
        """
        now = datetime.now(UTC)
        cutoff = None if cooldown_seconds is None else now - timedelta(seconds=cooldown_seconds)
        if cutoff is not None and not self._may_start(cutoff):
            return None
        job = TrainingJob(id=new_job_id(), request=request, status=JobStatus.QUEUED, created_at=now)
        record = self.store.create(job, cooldown_since=cutoff)
        if record is None:
            return None
        try:
            run = self.runner.launch(record.job)
        except JobStartError as exc:
            return self._finish(record, JobStatus.FAILED, error=str(exc))
        self.store.set_run(job.id, run)
        return self._current(replace(record, run=run))

    def get(self, job_id: str) -> TrainingJob:
        """The job with its current status and log tail; raise ``JobNotFoundError``."""
        return self._current(self.store.get(job_id))

    def list(self, limit: int = 20) -> Sequence[TrainingJob]:
        """Newest first."""
        return [self._current(record) for record in self.store.list(limit)]

    def recover(self) -> int:
        """Judge the jobs left queued or running (at a server's start: those of a server
        that died); return how many are finished now."""
        finished = 0
        for job_id in self.store.lock().active:
            try:
                finished += self.get(job_id).status.finished
            except JobNotFoundError:
                self.store.release(job_id)
        return finished

    # -- starting

    def _may_start(self, cutoff: datetime) -> bool:
        """Whether a cool-down start can try to create its job: not cooling down, and
        the jobs the lock holds have not finished unseen (nobody asked about them)."""
        lock = self.store.lock()
        if lock.automatic_at is not None and lock.automatic_at > cutoff:
            return False
        finished = True
        for job_id in lock.active:
            try:
                finished = self.get(job_id).status.finished and finished
            except JobNotFoundError:  # deleted by hand: it must not hold the lock forever
                self.store.release(job_id)
        return finished

    # -- following

    def _current(self, record: JobRecord) -> TrainingJob:
        """The job as its runner sees it now; a finished one straight from its record."""
        if record.job.status.finished:
            return _shown(record.job)
        try:
            return self._refresh(record)
        except RunnerUnavailableError as exc:
            log.warning("training job %s: could not follow it: %s", record.job.id, exc)
            note = unanswered(exc.cloud, exc.message)
            return _shown(record.job, log_tail=tail(record.job.request.command(), [note]))

    def _refresh(self, record: JobRecord) -> TrainingJob:
        job, run, runner = record.job, record.run, self.runner
        if run is None:
            if time.time() - job.created_at.timestamp() < LAUNCH_GRACE_SECONDS:
                return _shown(job)  # the launch is on its way
            run = runner.find(job)
            if run is None:
                return self._finish(record, JobStatus.FAILED, error=start_lost(runner.run_noun))
            self.store.set_run(job.id, run)
        state = runner.describe(job, run)
        if state is None:  # the runner forgot it (ECS after an hour, deleted executions)
            report, lines = split_report(runner.logs(job, run))
            what = f"the training {runner.run_noun} {run}"
            verdict = judge_forgotten(report, runner.service, what)
            log_tail = tail(job.request.command(), lines)
            return self._finish(record, verdict.status, log_tail=log_tail, **verdict.fields)
        report, lines = split_report(state.lines)
        log_tail = tail(job.request.command(), lines)
        if state.phase is RunPhase.QUEUED:
            return _shown(job, log_tail=log_tail)
        if state.phase is RunPhase.RUNNING:
            if job.status is JobStatus.QUEUED:
                # Recorded once, so the last known status stays true when the runner
                # cannot be asked.
                started = state.started_at or datetime.now(UTC)
                self.store.mark_running(job.id, started)
                job = replace(job, started_at=started)
            return _shown(job, JobStatus.RUNNING, started_at=state.started_at, log_tail=log_tail)
        ended = state.ended_at or datetime.now(UTC)
        verdict = judge(
            report,
            failure=state.failure,
            failure_logged=state.failure_logged,
            log_settled=(datetime.now(UTC) - ended).total_seconds() >= runner.log_grace_seconds,
            no_report=runner.no_report,
        )
        if not verdict.status.finished:  # its last lines may not have reached the log
            return _shown(job, JobStatus.RUNNING, started_at=state.started_at, log_tail=log_tail)
        return self._finish(
            record,
            verdict.status,
            started_at=state.started_at,
            finished_at=ended,
            log_tail=log_tail,
            **verdict.fields,
        )

    # -- finishing

    def _finish(self, record: JobRecord, status: JobStatus, **fields: Any) -> TrainingJob:
        """Record the outcome and release the lock (once: when a replica finished it
        first, its record is returned)."""
        job = record.job
        outcome = replace(
            job,
            status=status,
            started_at=fields.get("started_at") or job.started_at,
            finished_at=fields.get("finished_at") or datetime.now(UTC),
            model_version=fields.get("model_version"),
            promoted=fields.get("promoted"),
            error=fields.get("error"),
            log_tail=fields.get("log_tail") or tail(job.request.command(), []),
        )
        finished = self.store.finish(outcome)
        if finished is None:
            return _shown(self.store.get(job.id).job)
        log.info("training job %s %s", job.id, status.value)
        if self.on_finished is not None:
            try:
                self.on_finished(finished)
            except Exception:  # a listener's failure must not lose the record
                log.exception("after training job %s", job.id)
        return finished


def new_job_id() -> str:
    """Creation time in hex, then randomness: ids sort newest last, as strings too."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def _shown(job: TrainingJob, status: JobStatus | None = None, **now: Any) -> TrainingJob:
    """``job`` as recorded, with what the runner says now (status, start, log tail) in
    place of the recorded values; a job without a log tail shows its command."""
    started = now.get("started_at") or job.started_at
    log_tail = now.get("log_tail") or job.log_tail or tail(job.request.command(), [])
    return replace(job, status=status or job.status, started_at=started, log_tail=log_tail)


# -- the log


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
        """The fields recorded with the status (those that are set)."""
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
    """A run that ended, judged from what its runner says and what its log holds.

    ``failure`` is None when the runner says ``mlops train`` succeeded, else why it did
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
    """A run its runner no longer knows: the report in its log is all that is left."""
    if report is not None:
        return Verdict.reported(report)
    return Verdict(JobStatus.FAILED, error=forgotten(service, run))
