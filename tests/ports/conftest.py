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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.adapters.local.jobs import SubprocessJobLauncher
from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase
from tests.unit.fakes import FakeEventLedger


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


# The fake Fargate each ECS launcher's test runs its tasks on, stopped after the test.
_FARGATES: dict[Path, object] = {}


def _ecs_launcher(tmp: Path, _moto: object) -> object:
    from app.adapters.aws.ecs import EcsJobLauncher
    from tests.ports.fake_fargate import EcsWorld, FakeFargate

    world = EcsWorld.create(AWS_REGION)
    _FARGATES[tmp] = FakeFargate(world).start()
    # Its clients take one lock per call, so moto is atomic per call like DynamoDB and
    # ECS: the concurrent-start test then checks the launcher's condition, not moto's races.
    return EcsJobLauncher(_table(tmp), **world.launcher_arguments())


def _cloud(module: str, name: str) -> Callable[[Path, object], object]:
    """A factory of tests/cloud/<cloud>/factories.py, imported when its adapter is tested."""

    def build(tmp: Path, service: object) -> object:
        factories = importlib.import_module(f"tests.cloud.{module}.factories")
        return getattr(factories, name)(tmp, service)

    return build


# The fixture each adapter's service needs: moto (in-process ``mock_aws``), Azurite, the
# GCS emulator, Google's Firestore emulator (Firestore records and the Cloud Run jobs'
# lock). Cosmos DB and the job APIs of Azure and GCP are fakes at the SDK boundary
# (tests/cloud/<cloud>/fake_*.py): no emulator of theirs can be installed here.
SERVICE_FIXTURES = {
    "s3": "moto",
    "dynamodb": "moto",
    "ecs": "moto",
    "blob": "azurite",
    "gcs": "gcs_emulator",
    "firestore": "firestore_emulator",
    "cloud_run": "firestore_emulator",
}
# Emulators whose conditional writes are not atomic across threads ("ecs" serialises its
# calls to moto, see _ecs_launcher).
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
JobLauncherFactories: dict[str, Callable[[Path, object], object]] = {
    # The local launcher runs a stand-in for `mlops train` with the same arguments.
    "subprocess": lambda tmp, _: SubprocessJobLauncher(
        SqliteDatabase(tmp / "records.sqlite3"),
        tmp / "jobs",
        env={},
        program=[sys.executable, str(Path(__file__).with_name("fake_train.py"))],
    ),
    # ECS tasks on moto, run by a fake Fargate with the same stand-in (fake_fargate.py).
    "ecs": _ecs_launcher,
    # Container Apps and Cloud Run jobs on fakes of their SDK clients, same stand-in.
    "container_apps": _cloud("azure", "container_apps_launcher"),
    "cloud_run": _cloud("gcp", "cloud_run_launcher"),
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


@pytest.fixture(params=sorted(JobLauncherFactories))
def job_launcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    launcher = _build(request, JobLauncherFactories, tmp_path)
    yield launcher
    getattr(launcher, "shutdown", lambda: None)()
    fargate = _FARGATES.pop(tmp_path, None)
    if fargate is not None:
        fargate.stop()  # type: ignore[attr-defined]
