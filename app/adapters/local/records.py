"""SQLite document records and feedback: the local stand-in for DynamoDB, Cosmos, Firestore."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from app.adapters.local.sqlite import SqliteDatabase
from app.adapters.record_fields import to_document_record, to_feedback, to_prediction_record
from app.domain.documents import (
    DocumentExistsError,
    DocumentNotFoundError,
    DocumentPrediction,
    DocumentRecord,
    DocumentStatus,
    NewDocument,
)
from app.domain.feedback import Feedback
from app.domain.predictions import PredictionNotFoundError, PredictionRecord


def _now() -> datetime:
    return datetime.now(UTC)


def _to_record(row: sqlite3.Row) -> DocumentRecord:
    prediction = json.loads(row["prediction"]) if row["prediction"] else None
    return to_document_record({**dict(row), "prediction": prediction})


class SqliteDocumentRecords:
    def __init__(self, path: Path | SqliteDatabase) -> None:
        self.db = path if isinstance(path, SqliteDatabase) else SqliteDatabase(path)

    def create(self, document: NewDocument) -> DocumentRecord:
        stamp = document.created_at.isoformat()
        try:
            with self.db.connect() as conn:
                conn.execute(
                    "INSERT INTO documents (id, owner, object_key, filename, media_type, size,"
                    " status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        document.id,
                        document.owner,
                        document.object_key,
                        document.filename,
                        document.media_type,
                        document.size,
                        DocumentStatus.PENDING.value,
                        stamp,
                        stamp,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise DocumentExistsError(document.id) from exc
        return self.get(document.id)

    def get(self, document_id: str) -> DocumentRecord:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        if row is None:
            raise DocumentNotFoundError(document_id)
        return _to_record(row)

    def claim(self, document_id: str, *, lease_seconds: float) -> DocumentRecord | None:
        now = time.time()
        with self.db.connect() as conn:
            cursor = conn.execute(
                "UPDATE documents SET status = ?, claimed_at = ?, lease_until = ?,"
                " attempts = attempts + 1, updated_at = ?"
                " WHERE id = ? AND (status = ? OR (status = ? AND lease_until < ?))",
                (
                    DocumentStatus.PROCESSING.value,
                    now,
                    now + lease_seconds,
                    _now().isoformat(),
                    document_id,
                    DocumentStatus.PENDING.value,
                    DocumentStatus.PROCESSING.value,
                    now,
                ),
            )
            claimed = cursor.rowcount == 1
            exists = (
                claimed
                or conn.execute("SELECT 1 FROM documents WHERE id = ?", (document_id,)).fetchone()
            )
        if not exists:
            raise DocumentNotFoundError(document_id)
        return self.get(document_id) if claimed else None

    def release(self, document_id: str, *, attempt: int) -> bool:
        # Only while claim number ``attempt`` holds it; that attempt is not counted.
        moved = self._back_to_pending(
            "id = ? AND attempts = ?", (document_id, attempt), uncount=True
        )
        return moved == 1

    def _back_to_pending(
        self, where: str, values: tuple[object, ...], *, uncount: bool = False
    ) -> int:
        """Move ``processing`` records matching ``where`` to ``pending``; how many moved."""
        attempts = ", attempts = attempts - 1" if uncount else ""
        with self.db.connect() as conn:
            cursor = conn.execute(
                f"UPDATE documents SET status = ?, lease_until = NULL, updated_at = ?{attempts}"
                f" WHERE status = ? AND {where}",
                (
                    DocumentStatus.PENDING.value,
                    _now().isoformat(),
                    DocumentStatus.PROCESSING.value,
                    *values,
                ),
            )
        return cursor.rowcount

    def _finish(self, document_id: str, sets: str, values: tuple[object, ...]) -> DocumentRecord:
        with self.db.connect() as conn:
            cursor = conn.execute(
                f"UPDATE documents SET {sets}, lease_until = NULL, updated_at = ? WHERE id = ?",
                (*values, _now().isoformat(), document_id),
            )
        if cursor.rowcount == 0:
            raise DocumentNotFoundError(document_id)
        return self.get(document_id)

    def complete(
        self,
        document_id: str,
        *,
        text: str,
        language: str,
        prediction: DocumentPrediction,
        size: int | None = None,
    ) -> DocumentRecord:
        return self._finish(
            document_id,
            "status = ?, text = ?, language = ?, prediction = ?, error = NULL,"
            " size = COALESCE(?, size)",
            (DocumentStatus.DONE.value, text, language, json.dumps(asdict(prediction)), size),
        )

    def fail(self, document_id: str, *, reason: str) -> DocumentRecord:
        return self._finish(
            document_id, "status = ?, error = ?", (DocumentStatus.FAILED.value, reason)
        )

    def list(
        self,
        *,
        owner: str | None = None,
        status: DocumentStatus | None = None,
        limit: int = 100,
    ) -> Sequence[DocumentRecord]:
        query, args = "SELECT * FROM documents WHERE 1 = 1", []
        if owner is not None:
            query += " AND owner = ?"
            args.append(owner)
        if status is not None:
            query += " AND status = ?"
            args.append(status.value)
        query += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        with self.db.connect() as conn:
            rows = conn.execute(query, (*args, limit)).fetchall()
        return [_to_record(row) for row in rows]

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[tuple[str, str]]:
        """Up to ``limit`` ``done`` or ``failed`` records last changed before ``before``
        (retention), as (id, object key), oldest first."""
        finished = (DocumentStatus.DONE.value, DocumentStatus.FAILED.value)
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT id, object_key FROM documents WHERE status IN (?, ?) AND updated_at < ?"
                " ORDER BY updated_at LIMIT ?",
                (*finished, before.isoformat(), limit),
            ).fetchall()
        return [(row["id"], row["object_key"]) for row in rows]

    def forget(self, document_ids: Sequence[str]) -> int:
        """Delete these records if they are still finished; how many went."""
        if not document_ids:
            return 0
        finished = (DocumentStatus.DONE.value, DocumentStatus.FAILED.value)
        with self.db.connect() as conn:
            cursor = conn.executemany(
                "DELETE FROM documents WHERE id = ? AND status IN (?, ?)",
                [(document_id, *finished) for document_id in document_ids],
            )
        return cursor.rowcount

    def requeue_stuck(self, *, older_than_seconds: float) -> int:
        return self._back_to_pending("claimed_at <= ?", (time.time() - older_than_seconds,))


class SqliteFeedbackStore:
    def __init__(self, path: Path | SqliteDatabase) -> None:
        self.db = path if isinstance(path, SqliteDatabase) else SqliteDatabase(path)

    def record_predictions(self, predictions: Sequence[PredictionRecord]) -> None:
        with self.db.connect() as conn:
            conn.executemany(
                "INSERT INTO predictions (id, owner, label, confidence, model_name,"
                " model_version, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        p.id,
                        p.owner,
                        p.label,
                        p.confidence,
                        p.model_name,
                        p.model_version,
                        p.text,
                        p.created_at.isoformat(),
                    )
                    for p in predictions
                ],
            )

    def forget_predictions(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` predictions served before ``before`` (retention)."""
        with self.db.connect() as conn:
            cursor = conn.execute(
                "DELETE FROM predictions WHERE rowid IN"
                " (SELECT rowid FROM predictions WHERE created_at < ? LIMIT ?)",
                (before.isoformat(), limit),
            )
        return cursor.rowcount

    def get_prediction(self, prediction_id: str) -> PredictionRecord:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM predictions WHERE id = ?", (prediction_id,)
            ).fetchone()
        if row is None:
            raise PredictionNotFoundError(prediction_id)
        return to_prediction_record(dict(row))

    def add(self, feedback: Feedback) -> Feedback:
        with self.db.connect() as conn:
            conn.execute(
                "DELETE FROM feedback WHERE subject = ? AND subject_id = ?",
                (feedback.subject.value, feedback.subject_id),
            )
            conn.execute(
                "INSERT INTO feedback (id, subject, subject_id, owner, true_label,"
                " predicted_label, model_version, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback.id,
                    feedback.subject.value,
                    feedback.subject_id,
                    feedback.owner,
                    feedback.true_label,
                    feedback.predicted_label,
                    feedback.model_version,
                    feedback.text,
                    feedback.created_at.isoformat(),
                ),
            )
        return feedback

    def recent(self, limit: int, *, model_version: str | None = None) -> Sequence[Feedback]:
        with self.db.connect() as conn:
            if model_version is None:
                rows = conn.execute(
                    "SELECT * FROM feedback ORDER BY seq DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM feedback WHERE model_version = ? ORDER BY seq DESC LIMIT ?",
                    (model_version, limit),
                ).fetchall()
        return [to_feedback(dict(row)) for row in rows]
