"""The JobRunner contract: launch ``mlops train``, say how the run goes, read its log.

Every runner runs tests/ports/fake_train.py in place of ``mlops`` (see conftest.py).
"""

from __future__ import annotations

import json
import time

from app.domain.jobs import (
    JobReason,
    JobStatus,
    RunPhase,
    RunState,
    TrainingJob,
    TrainingJobRequest,
)
from app.ports import JobRunner
from app.services.training_jobs import new_job_id


def job(generate: int = 20) -> TrainingJob:
    request = TrainingJobRequest(JobReason.MANUAL, "admin", generate, 1, "always")
    return TrainingJob(id=new_job_id(), request=request, status=JobStatus.QUEUED)


def ended(runner, job: TrainingJob, run: str, timeout: float = 30) -> RunState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = runner.describe(job, run)
        assert state is not None, "a run just launched is not forgotten"
        if state.phase is RunPhase.ENDED:
            return state
        time.sleep(0.05)
    raise AssertionError(f"run {run} did not end: {runner.describe(job, run)}")


def test_adapter_satisfies_the_port(job_runner):
    assert isinstance(job_runner, JobRunner)
    assert job_runner.service and job_runner.run_noun and job_runner.no_report
    assert job_runner.log_grace_seconds >= 0


def test_a_run_ends_with_its_report_in_the_log(job_runner):
    new = job()
    run = job_runner.launch(new)
    assert job_runner.describe(new, run).phase in (RunPhase.QUEUED, RunPhase.RUNNING)
    state = ended(job_runner, new, run)
    assert state.failure is None
    assert json.dumps({"version": "5", "promoted": True}) in state.lines
    assert state.lines[-1] == "registered version 5"
    assert state.started_at is None or state.ended_at is None or state.ended_at >= state.started_at
    assert job_runner.logs(new, run)[-2:] == list(state.lines[-2:])


def test_a_failed_run_says_why_with_its_last_line(job_runner):
    new = job(generate=13)
    state = ended(job_runner, new, job_runner.launch(new))
    assert state.failure is not None and "nothing to train on" in state.failure
    assert state.failure.startswith("mlops train")
