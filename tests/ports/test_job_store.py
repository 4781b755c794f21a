"""The JobStore contract: job records and the start lock (the cool-down), atomic across
replicas."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJob, TrainingJobRequest
from app.ports import JobStore
from app.services.training_jobs import new_job_id

HOUR = timedelta(hours=1)


def job(reason: JobReason = JobReason.MANUAL) -> TrainingJob:
    request = TrainingJobRequest(reason, "admin", 20, 1, "if-better")
    return TrainingJob(id=new_job_id(), request=request, status=JobStatus.QUEUED)


def finished(stored: TrainingJob, **fields: object) -> TrainingJob:
    now = datetime.now(UTC)
    outcome = {"status": JobStatus.SUCCEEDED, "finished_at": now, "log_tail": "$ mlops train"}
    return replace(stored, **{**outcome, **fields})  # type: ignore[arg-type]


def test_adapter_satisfies_the_port(job_store):
    assert isinstance(job_store, JobStore)


def test_a_created_job_is_read_back_holding_the_lock(job_store):
    new = job()
    record = job_store.create(new, cooldown_since=None)
    assert record is not None and job_store.get(new.id) == record
    assert (record.job.id, record.job.request, record.job.status) == (
        new.id,
        new.request,
        JobStatus.QUEUED,
    )
    assert abs(record.job.created_at - new.created_at) < timedelta(milliseconds=1)
    assert record.run is None and record.job.log_tail == ""
    assert job_store.lock().active == (new.id,)


@pytest.mark.parametrize("job_id", ["nope", "lock"])
def test_an_unknown_job_raises(job_store, job_id):
    with pytest.raises(JobNotFoundError):
        job_store.get(job_id)


def test_list_is_newest_first(job_store):
    ids = [job_store.create(job(), cooldown_since=None).job.id for _ in range(3)]
    assert [r.job.id for r in job_store.list(2)] == ids[::-1][:2]


def test_the_run_and_the_start_are_recorded_and_a_job_never_goes_back(job_store):
    new = job_store.create(job(), cooldown_since=None).job
    job_store.set_run(new.id, "run-1")
    started = datetime.now(UTC)
    job_store.mark_running(new.id, started)
    running = job_store.get(new.id)
    assert (running.run, running.job.status) == ("run-1", JobStatus.RUNNING)
    assert abs(running.job.started_at - started) < timedelta(milliseconds=1)
    done = job_store.finish(finished(running.job, model_version="5", promoted=True))
    assert done == job_store.get(new.id).job
    job_store.mark_running(new.id, datetime.now(UTC))
    assert job_store.get(new.id).job == done, "a finished job is not running again"


def test_a_job_finishes_once_and_releases_the_lock(job_store):
    new = job_store.create(job(), cooldown_since=None).job
    first = job_store.finish(finished(new, error=None, model_version="5", promoted=False))
    assert first is not None
    assert (first.status, first.model_version, first.promoted) == (JobStatus.SUCCEEDED, "5", False)
    assert first.log_tail == "$ mlops train"
    assert job_store.lock().active == ()
    late = finished(new, status=JobStatus.FAILED, error="too late")
    assert job_store.finish(late) is None, "another replica finished it first"
    assert job_store.get(new.id).job == first


def test_cool_down_refuses_while_a_job_holds_the_lock_and_after_an_automatic_one(job_store):
    automatic = job_store.create(job(JobReason.ACCURACY_BELOW_THRESHOLD), cooldown_since=None)
    assert automatic is not None
    assert job_store.lock().automatic_at is not None
    assert job_store.create(job(), cooldown_since=datetime.now(UTC)) is None, "one is queued"
    assert job_store.create(job(), cooldown_since=None) is not None, "no cool-down: created"
    for record in job_store.list(5):
        job_store.finish(finished(record.job))
    cooling = datetime.now(UTC) - HOUR
    assert job_store.create(job(JobReason.ACCURACY_BELOW_THRESHOLD), cooldown_since=cooling) is None
    assert job_store.create(job(), cooldown_since=datetime.now(UTC) + HOUR) is not None


def test_manual_jobs_do_not_start_a_cool_down(job_store):
    manual = job_store.create(job(), cooldown_since=None).job
    job_store.finish(finished(manual))
    assert job_store.lock().automatic_at is None
    since = datetime.now(UTC) - HOUR
    assert job_store.create(job(JobReason.ACCURACY_BELOW_THRESHOLD), cooldown_since=since)


def test_concurrent_creates_under_a_cool_down_create_one(job_store):
    created = []
    barrier = threading.Barrier(6)
    since = datetime.now(UTC) - HOUR

    def create() -> None:
        barrier.wait()
        created.append(
            job_store.create(job(JobReason.ACCURACY_BELOW_THRESHOLD), cooldown_since=since)
        )

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(record is not None for record in created) == 1
    assert len(job_store.list(10)) == 1


def test_releasing_an_unknown_job_leaves_the_lock_to_the_others(job_store):
    held = job_store.create(job(), cooldown_since=None).job
    job_store.release(new_job_id())
    assert job_store.lock().active == (held.id,)
