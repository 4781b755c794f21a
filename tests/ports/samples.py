"""Domain values the adapter tests store: a new document, a served prediction, a label.

Shared by the port suites and the per-cloud adapter tests, so every adapter is fed
the same values.
"""

from __future__ import annotations

from app.domain.documents import NewDocument
from app.domain.feedback import Feedback, FeedbackSubject
from app.domain.predictions import PredictionRecord


def new(doc_id: str = "d1", owner: str = "alice") -> NewDocument:
    return NewDocument(
        id=doc_id,
        owner=owner,
        object_key=f"uploads/{doc_id}",
        filename="scan.png",
        media_type="image/png",
        size=123,
    )


def prediction(pid: str) -> PredictionRecord:
    return PredictionRecord(
        id=pid,
        owner="alice",
        label="receipt",
        confidence=0.8,
        model_name="document-classifier",
        model_version="1",
        text="Ticket de caisse",
    )


def feedback(
    fid: str,
    subject_id: str,
    true_label: str,
    version: str = "1",
    *,
    subject: FeedbackSubject = FeedbackSubject.PREDICTION,
) -> Feedback:
    return Feedback(
        id=fid,
        subject=subject,
        subject_id=subject_id,
        owner="alice",
        true_label=true_label,
        predicted_label="receipt",
        model_version=version,
        text="Ticket de caisse",
    )
