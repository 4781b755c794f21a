"""What the cloud training-job tests share: the requests they start, and waiting for
jobs that run on a fake cloud (tests/ports/fake_train.py standing in for ``mlops``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from app.domain.jobs import JobReason, TrainingJob, TrainingJobRequest
from app.services.training_jobs import TrainingJobs

T = TypeVar("T")

MANUAL = TrainingJobRequest(
    reason=JobReason.MANUAL,
    requested_by="admin",
    generate_per_class=20,
    heldout_per_class=1,
    promote="always",
)
# fake_train.py takes a second with --generate 7: long enough to be seen running.
AUTOMATIC = TrainingJobRequest(
    reason=JobReason.ACCURACY_BELOW_THRESHOLD,
    requested_by="monitoring",
    generate_per_class=7,
    heldout_per_class=1,
    promote="if-better",
)


def wait_finished(jobs: TrainingJobs, job_id: str, timeout: float = 30) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if job.status.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {jobs.get(job_id)}")


def all_at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each call on its own thread, released together (concurrent triggers); their answers."""
    barrier = threading.Barrier(len(calls))
    answers: list[T] = []

    def run(call: Callable[[], T]) -> None:
        barrier.wait()
        answers.append(call())

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
