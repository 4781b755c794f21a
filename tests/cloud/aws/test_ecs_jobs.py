"""What training jobs on ECS do beyond the shared suites (tests/ports): the RunTask the
runner sends, its failures, two replicas sharing one table, finished jobs served from the
table.

ECS, CloudWatch Logs and DynamoDB are moto in-process; a fake Fargate
(tests/ports/fake_fargate.py) runs the tasks with tests/ports/fake_train.py as `mlops`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.adapters.aws.dynamodb import TABLE_SCHEMA
from app.adapters.aws.dynamodb_jobs import DynamoJobStore
from app.adapters.aws.ecs import EcsJobRunner
from app.domain.jobs import JobStatus
from app.services.training_jobs import TrainingJobs
from tests.cloud.job_helpers import AUTOMATIC, MANUAL, wait_finished
from tests.ports.fake_fargate import EcsWorld, FakeFargate

REGION = "eu-west-3"
TABLE = "mlops-records"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[EcsWorld]:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # In-process moto here, even when this session's moto server set an endpoint.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        world = EcsWorld.create(REGION)
        world.client("dynamodb").create_table(TableName=TABLE, **TABLE_SCHEMA)
        yield world


@pytest.fixture
def fargate(world: EcsWorld) -> Iterator[FakeFargate]:
    with FakeFargate(world) as running:
        yield running


def launcher(world: EcsWorld, **overrides: Any) -> TrainingJobs:
    """One app replica: its own store and runner on the shared table and cluster."""
    return TrainingJobs(
        DynamoJobStore(TABLE, client=world.client("dynamodb")),
        EcsJobRunner(**world.runner_arguments(**overrides)),
    )


def task_of(world: EcsWorld, job_id: str) -> dict:
    arns = world.client("ecs").list_tasks(cluster=world.cluster, startedBy=job_id)["taskArns"]
    assert len(arns) == 1, arns
    answer = world.client("ecs").describe_tasks(cluster=world.cluster, tasks=arns)
    task: dict = answer["tasks"][0]
    return task


class Unreachable:
    """An AWS client that must not be called."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"called {name} on a client that must not be used")


class Throttled:
    """ECS answering every call with a throttling error, as the real one does under load."""

    def __getattr__(self, name: str) -> Any:
        from botocore.exceptions import ClientError

        def call(**_: Any) -> Any:
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, name)

        return call


class NoCapacity:
    """ECS whose RunTask places no task and says why in ``failures`` (no exception), as
    it does when Fargate has no capacity; every other call goes to ``ecs``."""

    def __init__(self, ecs: Any) -> None:
        self.ecs = ecs

    def run_task(self, **kwargs: Any) -> dict:
        return {
            "tasks": [],
            "failures": [
                {
                    "arn": f"arn:aws:ecs:{REGION}:123456789012:task-definition/mlops-train:1",
                    "reason": "Capacity is unavailable at this time. Please try again later or"
                    " in a different availability zone",
                }
            ],
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ecs, name)


def test_run_task_runs_the_training_command_on_fargate_in_private_subnets(world):
    job = launcher(world).start(MANUAL)

    task = task_of(world, job.id)
    assert job.status is JobStatus.RUNNING  # moto's tasks start RUNNING
    assert task["launchType"] == "FARGATE"
    assert task["overrides"]["containerOverrides"] == [
        {
            "name": world.container,
            "command": ["mlops", *MANUAL.train_arguments(), "--report-json", "-"],
        }
    ]
    assert task["startedBy"] == job.id
    # What RunTask received (moto's own record: DescribeTasks does not return it) ...
    assert world.task(task["taskArn"]).network_configuration == {
        "awsvpcConfiguration": {
            "subnets": world.subnets,
            "securityGroups": world.security_groups,
            "assignPublicIp": "DISABLED",
        }
    }
    # ... and the task's network interface, in the private subnet.
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["subnetId"] == world.subnets[0]


def test_a_run_task_error_fails_the_job_readably_and_releases_the_lock(world, fargate):
    misconfigured = launcher(world, cluster="no-such-cluster")

    job = misconfigured.start(AUTOMATIC, cooldown_seconds=3600)

    assert job is not None and job.status is JobStatus.FAILED
    assert job.error.startswith("ECS could not start the training job (ClusterNotFound")
    assert job.error.endswith("then start a new job.")
    assert misconfigured.get(job.id) == job
    fixed = launcher(world)
    # The failed job counts for the cool-down, like any automatic job: a broken
    # configuration costs one RunTask per cool-down, not one per feedback.
    assert fixed.start(AUTOMATIC, cooldown_seconds=3600) is None
    # It does not hold the lock: once cooled down, and by hand at any time, jobs start.
    again = fixed.start(AUTOMATIC, cooldown_seconds=0)
    assert again is not None
    assert wait_finished(fixed, again.id).status is JobStatus.SUCCEEDED
    assert wait_finished(fixed, fixed.start(MANUAL).id).status is JobStatus.SUCCEEDED


def test_run_task_failures_in_the_answer_fail_the_job_with_the_ecs_reason(world):
    crowded = launcher(world, ecs=NoCapacity(world.client("ecs")))

    job = crowded.start(AUTOMATIC, cooldown_seconds=3600)

    assert job is not None and job.status is JobStatus.FAILED
    assert "(Capacity is unavailable at this time." in job.error
    assert launcher(world).start(AUTOMATIC, cooldown_seconds=0) is not None


def test_missing_settings_fail_the_job_with_the_setting_to_set(world):
    job = launcher(world, subnets=[]).start(MANUAL)

    assert job.status is JobStatus.FAILED
    assert job.error == (
        "Training jobs are not configured on this deployment: set MLOPS_AWS_TRAINING_SUBNETS."
    )


def test_two_replicas_with_a_cool_down_start_one_job(world, fargate):
    one, two = launcher(world), launcher(world)

    first = one.start(AUTOMATIC, cooldown_seconds=3600)

    assert first is not None
    assert two.start(AUTOMATIC, cooldown_seconds=3600) is None, "cooling down"
    assert two.start(AUTOMATIC, cooldown_seconds=0) is None, "one is running"
    # The task stops while nobody follows the job: the next start sees it finished.
    arn = task_of(world, first.id)["taskArn"]
    deadline = time.monotonic() + 30
    while task_of(world, first.id)["lastStatus"] != "STOPPED":
        assert time.monotonic() < deadline, f"{arn} did not stop"
        time.sleep(0.05)
    second = two.start(AUTOMATIC, cooldown_seconds=0)
    assert second is not None
    assert [j.id for j in one.list()] == [second.id, first.id]
    assert one.get(first.id).status is JobStatus.SUCCEEDED


def test_a_finished_job_is_served_from_the_table_without_calling_ecs(world, fargate):
    online = launcher(world)
    done = wait_finished(online, online.start(MANUAL).id)

    offline = launcher(world, ecs=Unreachable(), logs=Unreachable())

    assert offline.get(done.id) == done
    assert offline.list(1) == [done]
    assert (done.status, done.model_version, done.promoted) == (JobStatus.SUCCEEDED, "5", True)
    lines = done.log_tail.splitlines()
    assert lines[0] == f"$ mlops {' '.join(MANUAL.train_arguments())} --report-json -"
    assert lines[-1] == "registered version 5"
    assert not any(line.startswith("{") for line in lines), "the report is not log noise"


def test_a_task_stopped_before_training_fails_with_the_ecs_reason(world):
    job = launcher(world).start(MANUAL)
    arn = task_of(world, job.id)["taskArn"]
    # No container ran, so the agent reports no exit code (moto's API cannot say so).
    world.task(arn).containers[0].exitCode = None
    world.client("ecs").stop_task(
        cluster=world.cluster,
        task=arn,
        reason="CannotPullContainerError: pull image manifest has been retried 5 time(s)",
    )

    failed = launcher(world).get(job.id)

    assert failed.status is JobStatus.FAILED
    assert failed.error == (
        "The training task stopped before mlops train ran: CannotPullContainerError:"
        " pull image manifest has been retried 5 time(s)."
    )


def test_when_ecs_does_not_answer_the_last_known_status_is_shown(world, fargate):
    online = launcher(world)
    job = online.start(AUTOMATIC)
    assert online.get(job.id).status is JobStatus.RUNNING  # recorded in the table

    seen = launcher(world, ecs=Throttled()).get(job.id)

    assert seen.status is JobStatus.RUNNING and seen.started_at is not None
    assert "ThrottlingException: Rate exceeded" in seen.log_tail
    wait_finished(online, job.id)


def _stopped_then_forgotten(world: EcsWorld, job_id: str) -> None:
    """Wait, without asking the service, until the task stopped; then make moto forget
    it the way ECS does an hour later."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    deadline = time.monotonic() + 30
    while task_of(world, job_id)["lastStatus"] != "STOPPED":
        assert time.monotonic() < deadline, "the task did not stop"
        time.sleep(0.05)
    arn = task_of(world, job_id)["taskArn"]
    ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks[world.cluster].pop(arn)


def test_a_job_ecs_has_forgotten_is_judged_by_its_log(world, fargate):
    jobs = launcher(world)
    job = jobs.start(MANUAL)
    _stopped_then_forgotten(world, job.id)

    done = jobs.get(job.id)
    assert (done.status, done.model_version, done.promoted) == (JobStatus.SUCCEEDED, "5", True)
    assert "registered version 5" in done.log_tail


def test_a_forgotten_job_without_its_log_says_where_to_look(world, fargate):
    jobs = launcher(world)
    job = jobs.start(MANUAL)
    _stopped_then_forgotten(world, job.id)
    logs = world.client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        logs.delete_log_group(logGroupName=group["logGroupName"])

    done = jobs.get(job.id)
    assert done.status is JobStatus.FAILED
    assert "GET /v1/models" in done.error
