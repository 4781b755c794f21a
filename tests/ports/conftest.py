"""Adapters under the shared behaviour suite.

Each port has one fixture parametrised over its adapters. A cloud adds its
adapter here (with the emulator fixture it needs) and inherits every test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase

ObjectStoreFactories: dict[str, Callable[[Path], object]] = {
    "local": lambda tmp: LocalObjectStore(tmp / "objects"),
}
RecordsFactories: dict[str, Callable[[Path], object]] = {
    "sqlite": lambda tmp: SqliteDocumentRecords(SqliteDatabase(tmp / "records.sqlite3")),
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
