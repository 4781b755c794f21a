"""Adapters under the shared behaviour suite.

Each port has one fixture parametrised over its adapters. A cloud adds its
adapter here (with the emulator fixture it needs) and inherits every test. A factory
takes the test's tmp dir and the value of its adapter's fixture in ``SERVICE_FIXTURES``
(the emulator), or None.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.adapters.local.jobs import SubprocessJobRunner
from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase
from app.adapters.local.sqlite_jobs import SqliteJobStore
from app.services.training_jobs import TrainingJobs
from tests.unit.fakes import FakeEventLedger

FAKE_TRAIN = Path(__file__).with_name("fake_train.py")


def _bucket(tmp: Path) -> str:
    import boto3

    name = f"uploads-{abs(hash(tmp)) % 10**8}"
    s3 = boto3.client("s3", region_name=AWS_REGION)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _table(tmp: Path) -> str:
    import boto3

    from app.adapters.aws.dynamodb import TABLE_SCHEMA

    name = f"records-{abs(hash(tmp)) % 10**8}"
    dynamodb = boto3.client("dynamodb", region_name=AWS_REGION)
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(TableName=name, **TABLE_SCHEMA)  # records and feedback share it
    return name


def _s3_store(tmp: Path, _moto: object) -> object:
    from app.adapters.aws.s3 import S3ObjectStore

    return S3ObjectStore(_bucket(tmp))


def _dynamo_records(tmp: Path, _moto: object) -> object:
    from app.adapters.aws.dynamodb import DynamoDocumentRecords

    return DynamoDocumentRecords(_table(tmp))


def _dynamo_feedback(tmp: Path, _moto: object) -> object:
    from app.adapters.aws.dynamodb import DynamoFeedbackStore

    return DynamoFeedbackStore(_table(tmp))


def _dynamo_ledgers(tmp: Path, _moto: object) -> Callable[[], object]:
    from app.adapters.aws.dynamodb import DynamoEventLedger

    table = _table(tmp)
    return lambda: DynamoEventLedger(table)


def _dynamo_jobs(tmp: Path, _moto: object) -> object:
    import boto3

    from app.adapters.aws.dynamodb_jobs import DynamoJobStore
    from tests.ports.fake_fargate import OneAtATime

    # One lock per call, so moto is atomic per call like DynamoDB: the concurrent-start
    # tests then check the store's conditions, not moto's races.
    client = OneAtATime(boto3.client("dynamodb", region_name=AWS_REGION), threading.RLock())
    return DynamoJobStore(_table(tmp), client=client)


def _ecs_runner(tmp: Path, _moto: object) -> object:
    """ECS tasks on moto, run by a fake Fargate with the stand-in for ``mlops``
    (fake_fargate.py); ``shutdown()`` stops it."""
    from app.adapters.aws.ecs import EcsJobRunner
    from tests.ports.fake_fargate import EcsWorld, FakeFargate

    world = EcsWorld.create(AWS_REGION)
    fargate = FakeFargate(world).start()
    runner = EcsJobRunner(**world.runner_arguments())
    runner.shutdown = fargate.stop  # type: ignore[attr-defined]
    return runner


def _subprocess_runner(tmp: Path, _: object) -> object:
    """Child processes of a stand-in for ``mlops train`` with the same arguments."""
    return SubprocessJobRunner(tmp / "jobs", env={}, program=[sys.executable, str(FAKE_TRAIN)])


def _cloud(module: str, name: str) -> Callable[[Path, object], object]:
    """A factory of tests/cloud/<cloud>/factories.py, imported when its adapter is tested."""

    def build(tmp: Path, service: object) -> object:
        factories = importlib.import_module(f"tests.cloud.{module}.factories")
        return getattr(factories, name)(tmp, service)

    return build


# The fixture each adapter's service needs: moto (in-process ``mock_aws``), Azurite, the
# GCS emulator, Google's Firestore emulator (Firestore records and job records). Cosmos
# DB and the job APIs of Azure and GCP are fakes at the SDK boundary
# (tests/cloud/<cloud>/fake_*.py): no emulator of theirs can be installed here.
SERVICE_FIXTURES = {
    "s3": "moto",
    "dynamodb": "moto",
    "ecs": "moto",
    "blob": "azurite",
    "gcs": "gcs_emulator",
    "firestore": "firestore_emulator",
}
# Emulators whose conditional writes are not atomic across threads (the job store
# serialises its calls to moto, see _dynamo_jobs).
EMULATED_WITHOUT_LOCKS = {"dynamodb"}
AWS_REGION = "eu-west-3"

ObjectStoreFactories: dict[str, Callable[[Path, object], object]] = {
    "local": lambda tmp, _: LocalObjectStore(tmp / "objects"),
    "s3": _s3_store,
    "blob": _cloud("azure", "blob_store"),
    "gcs": _cloud("gcp", "gcs_store"),
}
RecordsFactories: dict[str, Callable[[Path, object], object]] = {
    "sqlite": lambda tmp, _: SqliteDocumentRecords(SqliteDatabase(tmp / "records.sqlite3")),
    "dynamodb": _dynamo_records,
    "cosmos": _cloud("azure", "cosmos_records"),
    "firestore": _cloud("gcp", "firestore_records"),
}
JobStoreFactories: dict[str, Callable[[Path, object], object]] = {
    "sqlite": lambda tmp, _: SqliteJobStore(SqliteDatabase(tmp / "records.sqlite3")),
    "dynamodb": _dynamo_jobs,
    "cosmos": _cloud("azure", "cosmos_jobs"),
    "firestore": _cloud("gcp", "firestore_jobs"),
}
# Every runner runs tests/ports/fake_train.py in place of `mlops`: as a child process, on
# a fake Fargate over moto's ECS, on fakes of the Container Apps and Cloud Run SDK clients.
JobRunnerFactories: dict[str, Callable[[Path, object], object]] = {
    "subprocess": _subprocess_runner,
    "ecs": _ecs_runner,
    "container_apps": _cloud("azure", "container_apps_runner"),
    "cloud_run": _cloud("gcp", "cloud_run_runner"),
}
# The store and the runner each deployment pairs under the TrainingJobs service.
JOB_PAIRS = {
    "local": ("sqlite", "subprocess"),
    "aws": ("dynamodb", "ecs"),
    "azure": ("cosmos", "container_apps"),
    "gcp": ("firestore", "cloud_run"),
}
# An event ledger's factory gives a maker of ledgers over one store: each is the ledger of
# another process (its own holds on the markers it wrote), as in the cloud.
EventLedgerFactories: dict[str, Callable[[Path, object], object]] = {
    "memory": lambda tmp, _: FakeEventLedger().another,
    "dynamodb": _dynamo_ledgers,
    "cosmos": _cloud("azure", "cosmos_ledgers"),
    "firestore": _cloud("gcp", "firestore_ledgers"),
}
FeedbackFactories: dict[str, Callable[[Path, object], object]] = {
    "sqlite": lambda tmp, _: SqliteFeedbackStore(SqliteDatabase(tmp / "records.sqlite3")),
    "dynamodb": _dynamo_feedback,
    "cosmos": _cloud("azure", "cosmos_feedback"),
    "firestore": _cloud("gcp", "firestore_feedback"),
}


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS emulated in-process; fake credentials so nothing can reach a real account."""
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    # No instance starts here; loading moto's default AMIs costs a second per test.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield


def _build(request: pytest.FixtureRequest, factories: dict, tmp_path: Path) -> object:
    fixture = SERVICE_FIXTURES.get(request.param)
    service = request.getfixturevalue(fixture) if fixture else None
    return factories[request.param](tmp_path, service)


@pytest.fixture(params=sorted(ObjectStoreFactories))
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield _build(request, ObjectStoreFactories, tmp_path)


@pytest.fixture(params=sorted(RecordsFactories))
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield _build(request, RecordsFactories, tmp_path)


@pytest.fixture(params=sorted(FeedbackFactories))
def feedback_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield _build(request, FeedbackFactories, tmp_path)


@pytest.fixture(params=sorted(EventLedgerFactories))
def event_ledgers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A maker of ledgers sharing one store: ``event_ledgers()`` is one process's."""
    yield _build(request, EventLedgerFactories, tmp_path)


@pytest.fixture(params=sorted(JobStoreFactories))
def job_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield _build(request, JobStoreFactories, tmp_path)


def _runner(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> object:
    fixture = SERVICE_FIXTURES.get(name)
    service = request.getfixturevalue(fixture) if fixture else None
    return JobRunnerFactories[name](tmp_path, service)


@pytest.fixture(params=sorted(JobRunnerFactories))
def job_runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    runner = _runner(request.param, request, tmp_path)
    yield runner
    getattr(runner, "shutdown", lambda: None)()


@pytest.fixture(params=sorted(JOB_PAIRS))
def training_jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrainingJobs]:
    """The service over one deployment's store and runner; a run that ends is judged at
    once where the runner says so (local), as bootstrap wires it."""
    store_name, runner_name = JOB_PAIRS[request.param]
    fixture = SERVICE_FIXTURES.get(store_name)
    service = request.getfixturevalue(fixture) if fixture else None
    store = JobStoreFactories[store_name](tmp_path, service)
    runner = _runner(runner_name, request, tmp_path)
    jobs = TrainingJobs(store, runner)  # type: ignore[arg-type]
    if isinstance(runner, SubprocessJobRunner):
        runner.on_exit = jobs.get
    yield jobs
    getattr(runner, "shutdown", lambda: None)()
