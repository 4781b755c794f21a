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
    sweep = RetentionSweep(records, store, objects, days=30, batch=1)  # batches of one

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
    """Wired by bootstrap: the serving process deletes what is past MLOPS_RETENTION_DAYS."""
    import time

    from app.bootstrap import build_container
    from app.settings import load_settings

    settings = load_settings(data_dir=tmp_path, retention_days=7)
    container = build_container(settings)
    records = container.adapters.records
    records.create(new("old"))
    records.complete("old", text="Ticket", language="fr", prediction=PREDICTED)
    records.create(new("recent"))
    records.complete("recent", text="Ticket", language="fr", prediction=PREDICTED)
    eight_days_ago = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    with records.db.connect() as conn:  # finished eight days ago
        conn.execute("UPDATE documents SET updated_at = ? WHERE id = 'old'", (eight_days_ago,))
    for open_ in container.adapters.openers:
        open_()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                records.get("old")
            except DocumentNotFoundError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the sweep did not delete the record past retention")
        assert records.get("recent").status.value == "done"
    finally:
        for close in container.adapters.closers:
            close()
