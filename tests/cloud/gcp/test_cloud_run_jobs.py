"""What training jobs on Cloud Run do beyond the shared suites (tests/ports): the RunJob
the runner sends, its failures, two replicas sharing one Firestore, finished jobs served
from Firestore.

Firestore is Google's emulator; Cloud Run jobs and Cloud Logging are fakes at the SDK
boundary (tests/cloud/gcp/fake_cloud_run.py) that run tests/ports/fake_train.py as `mlops`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions

from app.adapters.gcp.cloud_run_jobs import CloudRunJobRunner
from app.adapters.gcp.firestore_jobs import FirestoreJobStore
from app.domain.jobs import JobStatus, TrainingJobRequest
from app.services.training_jobs import TrainingJobs
from tests.cloud.gcp.fake_cloud_run import CloudRunWorld
from tests.cloud.gcp.firestore_emulator import shared_emulator
from tests.cloud.job_helpers import AUTOMATIC, MANUAL, all_at_once, wait_finished


@pytest.fixture
def world() -> Iterator[CloudRunWorld]:
    running = CloudRunWorld()
    yield running
    running.stop()


@pytest.fixture
def project() -> str:
    """One Firestore project per test, shared by the replicas of that test."""
    return shared_emulator().client().project


def launcher(world: CloudRunWorld, project: str, **overrides: Any) -> TrainingJobs:
    """One app replica: its own Firestore client, store and runner on the shared project."""
    return TrainingJobs(
        FirestoreJobStore(shared_emulator().client(project)),
        CloudRunJobRunner(**world.runner_arguments(**overrides)),
    )


def wait_completed(world: CloudRunWorld, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while world.executions[name].completion_time is None:
        assert time.monotonic() < deadline, f"{name} did not complete"
        time.sleep(0.05)


def execution_of(jobs: TrainingJobs, job_id: str) -> str:
    return str(jobs.store.get(job_id).run)


class Unanswered:
    """An executions client whose service does not answer."""

    def get_execution(self, **kwargs: Any) -> Any:
        raise exceptions.ServiceUnavailable("503 The service is currently unavailable.")


def test_run_job_overrides_the_arguments_of_the_configured_job(world, project):
    replica = launcher(world, project)
    job = replica.start(MANUAL)
    [request] = world.requests
    assert request.name == "projects/test-project/locations/europe-west1/jobs/mlops-train"
    [override] = request.overrides.container_overrides
    assert list(override.args) == [
        *MANUAL.train_arguments(),
        "--report-json",
        "-",
    ], "the container's command is mlops: only its arguments are overridden"
    assert execution_of(replica, job.id).startswith(f"{request.name}/executions/")
    done = wait_finished(replica, job.id)
    assert (done.status, done.model_version, done.promoted) == (JobStatus.SUCCEEDED, "5", True)


def test_the_report_is_read_from_the_structured_entry_cloud_run_makes_of_it(world, project):
    from google.cloud.logging_v2.entries import StructEntry

    replica = launcher(world, project)
    done = wait_finished(replica, replica.start(MANUAL).id)
    assert any(isinstance(e, StructEntry) for e in world.entries), "a jsonPayload"
    assert done.model_version == "5"
    assert '"version"' not in done.log_tail, "the report is not part of the tail"
    assert done.log_tail.splitlines()[-1] == "registered version 5"


def test_a_failed_run_names_the_exit_code_and_the_last_line(world, project):
    replica = launcher(world, project)
    failing = TrainingJobRequest(**{**MANUAL.__dict__, "generate_per_class": 13})
    done = wait_finished(replica, replica.start(failing).id)
    assert done.error == (
        "mlops train exited with code 2:"
        " mlops train: There is nothing to train on: give --data or --generate N."
    )
    assert "Container called exit" not in done.log_tail


def test_a_start_cloud_run_refuses_fails_the_job_and_frees_the_lock(world, project):
    replica = launcher(world, project)
    world.fail_next_run = exceptions.PermissionDenied(
        "Permission 'run.jobs.run' denied on resource 'mlops-train'."
    )
    job = replica.start(AUTOMATIC, cooldown_seconds=0)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error.startswith("Cloud Run could not start the training job (403 Permission")
    assert "MLOPS_GCP_TRAINING_JOB" in job.error
    assert replica.get(job.id).status is JobStatus.FAILED
    again = replica.start(AUTOMATIC, cooldown_seconds=0)
    assert again is not None and again.status is not JobStatus.FAILED, "the lock was freed"
    wait_finished(replica, again.id)


def test_an_unconfigured_deployment_says_what_to_set(world, project):
    job = launcher(world, project, job="").start(MANUAL)
    assert job.status is JobStatus.FAILED
    assert job.error == (
        "Training jobs are not configured on this deployment: set MLOPS_GCP_TRAINING_JOB."
    )
    assert not world.requests


def test_two_replicas_reacting_together_start_one_job(world, project):
    replicas = [launcher(world, project), launcher(world, project)]
    started = all_at_once(
        [lambda r=replicas[i % 2]: r.start(AUTOMATIC, cooldown_seconds=3600) for i in range(6)]
    )
    jobs = [job for job in started if job is not None]
    assert len(jobs) == 1 and len(world.requests) == 1
    wait_finished(replicas[1], jobs[0].id)
    assert replicas[0].start(AUTOMATIC, cooldown_seconds=3600) is None, "cooling down"


def test_a_finished_job_is_served_from_firestore(world, project):
    replica = launcher(world, project)
    done = wait_finished(replica, replica.start(MANUAL).id)
    world.forget(execution_of(replica, done.id))
    other = launcher(world, project, executions_client=Unanswered())
    assert other.get(done.id) == done


def test_a_deleted_execution_is_judged_from_its_log(world, project):
    replica = launcher(world, project)
    job = replica.start(MANUAL)
    name = execution_of(replica, job.id)
    wait_completed(world, name)
    world.forget(name)
    done = replica.get(job.id)
    assert (done.status, done.model_version) == (JobStatus.SUCCEEDED, "5")


def test_while_cloud_run_does_not_answer_the_last_known_status_is_shown(world, project):
    job = launcher(world, project).start(MANUAL)
    seen = launcher(world, project, executions_client=Unanswered()).get(job.id)
    assert seen.status is JobStatus.QUEUED
    assert "Google Cloud did not answer: 503" in seen.log_tail
    assert seen.log_tail.startswith("$ mlops train")
