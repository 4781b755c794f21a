"""An app with real local stores and a fake registry and job launcher: fast HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase
from app.api.main import create_app
from app.bootstrap import Adapters, build_container
from app.settings import load_settings
from tests.unit.fakes import FakeModelSource, FakeTrainingJobs


def make_app(tmp_path: Path, **settings: object):
    settings = load_settings(
        data_dir=tmp_path,
        retrain_min_labels=3,
        model_poll_seconds=0,
        drift_min_inputs=10,
        **settings,
    )
    db = SqliteDatabase(tmp_path / "db.sqlite3")
    source = FakeModelSource({"champion": "1"})
    jobs = FakeTrainingJobs()
    adapters = Adapters(
        objects=LocalObjectStore(tmp_path / "objects"),
        records=SqliteDocumentRecords(db),
        feedback=SqliteFeedbackStore(db),
        models=source,
        registry=source,
        jobs=jobs,
    )
    container = build_container(settings, adapters)
    return create_app(settings, container), source, jobs


@pytest.fixture
def app_parts(tmp_path: Path):
    return make_app(tmp_path)


@pytest.fixture
def client(app_parts) -> Iterator[TestClient]:
    with TestClient(app_parts[0]) as c:
        yield c
