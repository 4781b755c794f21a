"""Local retention: the sweep deletes finished documents (record and file) and served
predictions past the retention, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.retention import RetentionSweep
from app.adapters.local.sqlite import SqliteDatabase
from app.domain.documents import DocumentNotFoundError, DocumentPrediction
from app.domain.predictions import PredictionNotFoundError
from tests.ports.samples import feedback, new, prediction

PREDICTED = DocumentPrediction(
    label="receipt",
    confidence=0.9,
    probabilities={"receipt": 0.9},
    model_name="m",
    model_version="1",
)


def test_the_sweep_forgets_what_is_past_retention_and_keeps_the_rest(tmp_path):
    db = SqliteDatabase(tmp_path / "records.sqlite3")
    records, store = SqliteDocumentRecords(db), SqliteFeedbackStore(db)
    objects = LocalObjectStore(tmp_path / "objects")
    for doc in ("done", "failed", "pending"):
        records.create(new(doc))
        objects.put(f"uploads/{doc}", b"bytes", content_type="image/png")
    records.complete("done", text="Ticket", language="fr", prediction=PREDICTED)
    records.fail("failed", reason="unreadable")
    store.record_predictions([prediction("p1")])
    store.add(feedback("f1", "p1", "invoice"))
    sweep = RetentionSweep(records, store, objects, days=30)

    assert sweep.sweep(datetime.now(UTC) + timedelta(days=29)) == (0, 0)
    assert sweep.sweep(datetime.now(UTC) + timedelta(days=31)) == (2, 1)

    for gone in ("done", "failed"):
        with pytest.raises(DocumentNotFoundError):
            records.get(gone)
        assert not objects.exists(f"uploads/{gone}")
    with pytest.raises(PredictionNotFoundError):
        store.get_prediction("p1")
    assert records.get("pending").status.value == "pending"  # unfinished work stays
    assert objects.exists("uploads/pending")
    assert [f.id for f in store.recent(10)] == ["f1"]  # labels are training data


def test_the_local_server_sweeps_on_start(tmp_path):
    from app.bootstrap import build_container
    from app.settings import load_settings

    settings = load_settings(data_dir=tmp_path, retention_days=7)
    container = build_container(settings)
    sweeps = [o for o in container.adapters.openers if getattr(o, "__self__", None)]
    assert any(isinstance(o.__self__, RetentionSweep) for o in sweeps)
    assert next(o.__self__ for o in sweeps if isinstance(o.__self__, RetentionSweep)).days == 7
