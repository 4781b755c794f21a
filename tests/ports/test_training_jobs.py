"""The training-job flow over each deployment's JobStore and JobRunner: start, follow,
cool down (the JobLauncher contract before the flow was written once)."""

from __future__ import annotations

import threading
import time

from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJobRequest
from app.ports import JobRunner, JobStore


def request(reason=JobReason.MANUAL, generate=20, promote="if-better") -> TrainingJobRequest:
    return TrainingJobRequest(
        reason=reason,
        requested_by="admin",
        generate_per_class=generate,
        heldout_per_class=1,
        promote=promote,
    )


def wait_finished(jobs, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if job.status.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {jobs.get(job_id)}")


def test_adapters_satisfy_the_ports(training_jobs):
    assert isinstance(training_jobs.store, JobStore)
    assert isinstance(training_jobs.runner, JobRunner)


def test_a_job_runs_to_success_and_reports_the_version_it_registered(training_jobs):
    job = training_jobs.start(request(promote="always"))
    assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    done = wait_finished(training_jobs, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert (done.model_version, done.promoted) == ("5", True)
    assert done.started_at is not None and done.finished_at >= done.started_at
    assert "registered version 5" in done.log_tail
    assert "--with-feedback" in done.log_tail, "the command line heads the log"


def test_a_failing_job_says_why(training_jobs):
    job = training_jobs.start(request(generate=13))
    done = wait_finished(training_jobs, job.id)
    assert done.status is JobStatus.FAILED
    assert "nothing to train on" in done.error
    assert done.model_version is None


def test_unknown_job_raises(training_jobs):
    try:
        training_jobs.get("nope")
    except JobNotFoundError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected JobNotFoundError")


def test_cool_down_refuses_while_a_job_runs_and_after_an_automatic_one(training_jobs):
    automatic = request(reason=JobReason.ACCURACY_BELOW_THRESHOLD, generate=7)
    first = training_jobs.start(automatic, cooldown_seconds=3600)
    assert first is not None
    assert training_jobs.start(automatic, cooldown_seconds=0) is None, "one is running"
    wait_finished(training_jobs, first.id)
    assert training_jobs.start(automatic, cooldown_seconds=3600) is None, "cooling down"
    again = training_jobs.start(automatic, cooldown_seconds=0)
    assert again is not None, "the cool-down is over"
    wait_finished(training_jobs, again.id)


def test_manual_jobs_skip_the_cool_down_and_do_not_start_one(training_jobs):
    manual = training_jobs.start(request())
    wait_finished(training_jobs, manual.id)
    assert training_jobs.start(request()) is not None
    wait_finished(training_jobs, training_jobs.list(1)[0].id)
    automatic = request(reason=JobReason.ACCURACY_BELOW_THRESHOLD)
    assert training_jobs.start(automatic, cooldown_seconds=3600) is not None


def test_concurrent_triggers_start_one_job(training_jobs):
    automatic = request(reason=JobReason.ACCURACY_BELOW_THRESHOLD, generate=7)
    started = []
    barrier = threading.Barrier(6)

    def trigger() -> None:
        barrier.wait()
        started.append(training_jobs.start(automatic, cooldown_seconds=3600))

    threads = [threading.Thread(target=trigger) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    jobs = [j for j in started if j is not None]
    assert len(jobs) == 1
    wait_finished(training_jobs, jobs[0].id)


def test_list_is_newest_first(training_jobs):
    ids = [training_jobs.start(request()).id for _ in range(3)]
    for job_id in ids:
        wait_finished(training_jobs, job_id)
    assert [j.id for j in training_jobs.list(2)] == ids[::-1][:2]
