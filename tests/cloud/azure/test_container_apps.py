"""What training jobs on Container Apps do beyond the shared suites (tests/ports): what
the runner asks Azure to run, starts Azure refuses, lost starts, forgotten executions,
late logs, the Cosmos store's one partition."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError

from app.adapters.azure.container_apps import JOB_ID_VARIABLE, ContainerAppsJobRunner
from app.adapters.azure.cosmos_jobs import CosmosJobStore
from app.domain.jobs import JobNotFoundError, JobStatus
from app.services.training_jobs import TrainingJobs
from tests.cloud.azure.fake_container_apps import FakeContainerApps
from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase
from tests.cloud.job_helpers import AUTOMATIC, MANUAL, all_at_once


@pytest.fixture
def apps() -> Iterator[FakeContainerApps]:
    apps = FakeContainerApps()
    yield apps
    apps.shutdown()


@pytest.fixture
def database() -> FakeCosmosDatabase:
    return FakeCosmosDatabase()


def jobs_on(database: FakeCosmosDatabase, apps: FakeContainerApps, **overrides) -> TrainingJobs:
    return TrainingJobs(
        CosmosJobStore(database), ContainerAppsJobRunner(**apps.runner_arguments(**overrides))
    )


@pytest.fixture
def launcher(apps, database) -> TrainingJobs:
    return jobs_on(database, apps)


def ended(apps: FakeContainerApps, timeout: float = 30) -> str:
    """Wait for the only execution to end; its name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with apps.lock:
            done = [e for e in apps.executions.values() if e.status in ("Succeeded", "Failed")]
        if done:
            return done[0].name
        time.sleep(0.02)
    raise AssertionError("the execution did not end")


def job_item(database: FakeCosmosDatabase, job_id: str) -> dict:
    return database.get_container_client("jobs").read_item(job_id, partition_key="jobs")


def rewrite(database: FakeCosmosDatabase, item: dict) -> None:
    database.get_container_client("jobs").upsert_item(item)


def test_an_execution_runs_the_jobs_container_with_the_training_command(launcher, apps):
    job = launcher.start(MANUAL)
    [execution] = apps.executions.values()
    [container] = execution.template.containers
    assert (container.name, container.image) == (apps.container, apps.image)
    assert container.command[:2] == ["mlops", "train"]
    assert container.command[-2:] == ["--report-json", "-"]
    env = {e.name: (e.value, e.secret_ref) for e in container.env}
    assert env["MLOPS_MLFLOW_TRACKING_URI"] == (None, "mlflow-uri"), "the job's env is kept"
    assert env[JOB_ID_VARIABLE] == (job.id, None)
    assert str(container.resources.memory) == "2Gi"


def test_a_start_azure_refuses_is_a_failed_job_that_says_why(apps, database):
    launcher = jobs_on(database, apps, job="mlops-trian")
    job = launcher.start(MANUAL)
    assert job.status is JobStatus.FAILED
    assert job.error.startswith("Container Apps could not start the training job (")
    assert "mlops-trian" in job.error and "\n" not in job.error
    assert not apps.executions
    # The failed start released the lock: an automatic start is not blocked by it.
    automatic = launcher.start(AUTOMATIC, cooldown_seconds=60)
    assert automatic is not None


def test_a_missing_setting_is_named(apps, database):
    launcher = jobs_on(database, apps, workspace_id="")
    job = launcher.start(MANUAL)
    assert job.status is JobStatus.FAILED
    assert "MLOPS_AZURE_LOG_WORKSPACE_ID" in job.error


def test_an_execution_whose_start_was_not_recorded_is_found_by_its_job_id(launcher, apps, database):
    job = launcher.start(MANUAL)
    ended(apps)
    item = job_item(database, job.id)
    del item["run"]  # the server died between the start and recording it
    rewrite(database, {**item, "created_at": item["created_at"] - 600})
    done = launcher.get(job.id)
    assert (done.status, done.model_version) == (JobStatus.SUCCEEDED, "5")


def test_a_job_never_started_fails_after_the_grace_period(launcher, apps, database):
    job = launcher.start(MANUAL)
    ended(apps)
    apps.executions.clear()
    item = job_item(database, job.id)
    del item["run"]
    rewrite(database, {**item, "created_at": item["created_at"] - 600})
    done = launcher.get(job.id)
    assert done.status is JobStatus.FAILED and "never started" in done.error


def test_a_forgotten_execution_is_judged_by_its_log(launcher, apps):
    job = launcher.start(MANUAL)
    ended(apps)
    apps.executions.clear()  # Container Apps keeps only the last executions
    done = launcher.get(job.id)
    assert (done.status, done.model_version) == (JobStatus.SUCCEEDED, "5")
    assert "registered version 5" in done.log_tail


def test_a_report_not_yet_in_log_analytics_is_waited_for(launcher, apps):
    job = launcher.start(MANUAL)
    name = ended(apps)
    with apps.lock:
        rows = list(apps.rows)
        apps.rows.clear()  # ingestion lags behind the container
    assert launcher.get(job.id).status is JobStatus.RUNNING
    with apps.lock:
        apps.rows.extend(rows)
    assert launcher.get(job.id).status is JobStatus.SUCCEEDED
    assert apps.executions[name].status == "Succeeded"


def test_a_report_that_never_arrives_fails_the_job_after_the_grace_period(launcher, apps):
    job = launcher.start(MANUAL)
    name = ended(apps)
    with apps.lock:
        apps.rows.clear()
        apps.executions[name].end_time -= timedelta(minutes=10)
    done = launcher.get(job.id)
    assert done.status is JobStatus.FAILED
    assert "report is not in the job's log" in done.error


def test_when_azure_does_not_answer_the_last_known_status_is_shown(launcher, apps, monkeypatch):
    job = launcher.start(MANUAL)

    def unavailable(*args: object, **kwargs: object) -> None:
        raise HttpResponseError(message="(ServiceUnavailable) Try again later.\nCode: 503")

    monkeypatch.setattr(apps, "job_execution", unavailable)
    seen = launcher.get(job.id)
    assert seen.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert "Azure did not answer: (ServiceUnavailable) Try again later." in seen.log_tail


def test_the_start_lock_and_jobs_share_one_partition(launcher, apps, database):
    launcher.start(AUTOMATIC, cooldown_seconds=60)
    items = database.get_container_client("jobs").stored()
    assert {i["pk"] for i in items} == {"jobs"}
    assert sorted(i["kind"] for i in items) == ["job", "lock"]
    with pytest.raises(JobNotFoundError):
        launcher.get("lock")


def test_concurrent_triggers_start_one_job_once_the_lock_exists(launcher, apps):
    # The shared suite's concurrent test meets no lock document yet (its creation
    # conflicts); here every trigger races on replacing the existing one by its etag.
    first = launcher.start(MANUAL)
    ended(apps)
    assert launcher.get(first.id).status is JobStatus.SUCCEEDED
    started = all_at_once([lambda: launcher.start(AUTOMATIC, cooldown_seconds=3600)] * 6)
    assert sum(job is not None for job in started) == 1
