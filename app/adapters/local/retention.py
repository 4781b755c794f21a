"""Retention in local mode: the sweep that stands in for the cloud stores' TTL."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore

log = logging.getLogger(__name__)


class RetentionSweep:
    """Deletes finished documents (record and file) and served predictions older than
    ``days``, at start and then every ``interval`` seconds, on a daemon thread.

    Example::

        sweep = RetentionSweep(records, feedback, objects, days=30)
        sweep.start()          # with the server
        sweep.sweep()          # (2, 5): documents and predictions deleted
    """

    def __init__(
        self,
        records: SqliteDocumentRecords,
        feedback: SqliteFeedbackStore,
        objects: LocalObjectStore,
        *,
        days: int,
        interval: float = 3600,
        batch: int = 500,
    ) -> None:
        self.records = records
        self.feedback = feedback
        self.objects = objects
        self.days = days
        self.interval = interval
        self.batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete what is past retention, in batches (a first sweep after an upgrade may
        find years); return (documents, predictions) deleted."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.days)
        documents = predictions = 0
        while True:
            expired = self.records.finished_before(cutoff, limit=self.batch)
            gone = []
            for document_id, key in expired:
                # The file first: a sweep stopped between the two finds the record again.
                try:
                    self.objects.delete(key)
                except OSError as exc:
                    log.warning("retention: %s stays for now: %s", key, exc)
                    continue
                gone.append(document_id)
            documents += self.records.forget(gone)
            if len(expired) < self.batch or not gone:
                break
        while True:
            deleted = self.feedback.forget_predictions(before=cutoff, limit=self.batch)
            predictions += deleted
            if deleted < self.batch:
                break
        if documents or predictions:
            log.info(
                "retention (%d days): deleted %d finished document(s) and %d prediction(s)",
                self.days,
                documents,
                predictions,
            )
        return documents, predictions

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception as exc:  # a bad turn must not end the sweeps: the next one retries
                log.warning("retention sweep skipped: %s", exc)
            self._stop.wait(self.interval)
