"""Adapters under the shared behaviour suite.

Each port has one fixture parametrised over its adapters. A cloud adds its
adapter here (with the emulator fixture it needs) and inherits every test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.adapters.local.jobs import SubprocessJobLauncher
from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase

ObjectStoreFactories: dict[str, Callable[[Path], object]] = {
    "local": lambda tmp: LocalObjectStore(tmp / "objects"),
}
RecordsFactories: dict[str, Callable[[Path], object]] = {
    "sqlite": lambda tmp: SqliteDocumentRecords(SqliteDatabase(tmp / "records.sqlite3")),
}
JobLauncherFactories: dict[str, Callable[[Path], object]] = {
    # The local launcher runs a stand-in for `mlops train` with the same arguments.
    "subprocess": lambda tmp: SubprocessJobLauncher(
        SqliteDatabase(tmp / "records.sqlite3"),
        tmp / "jobs",
        env={},
        program=[sys.executable, str(Path(__file__).with_name("fake_train.py"))],
    ),
}
FeedbackFactories: dict[str, Callable[[Path], object]] = {
    "sqlite": lambda tmp: SqliteFeedbackStore(SqliteDatabase(tmp / "records.sqlite3")),
}


@pytest.fixture(params=sorted(ObjectStoreFactories))
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield ObjectStoreFactories[request.param](tmp_path)


@pytest.fixture(params=sorted(RecordsFactories))
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield RecordsFactories[request.param](tmp_path)


@pytest.fixture(params=sorted(FeedbackFactories))
def feedback_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    yield FeedbackFactories[request.param](tmp_path)


@pytest.fixture(params=sorted(JobLauncherFactories))
def job_launcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    launcher = JobLauncherFactories[request.param](tmp_path)
    yield launcher
    getattr(launcher, "shutdown", lambda: None)()
