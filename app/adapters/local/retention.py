"""Retention in local mode: the sweep that stands in for the cloud stores' TTL."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.domain.documents import StorageUnavailableError

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
    ) -> None:
        self.records = records
        self.feedback = feedback
        self.objects = objects
        self.days = days
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self, now: datetime | None = None) -> tuple[int, int]:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.days)
        keys = self.records.forget_finished(before=cutoff)
        for key in keys:
            self.objects.delete(key)
        predictions = self.feedback.forget_predictions(before=cutoff)
        if keys or predictions:
            log.info(
                "retention (%d days): deleted %d finished document(s) and %d prediction(s)",
                self.days,
                len(keys),
                predictions,
            )
        return len(keys), predictions

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
            except StorageUnavailableError as exc:  # tried again at the next turn
                log.warning("retention sweep skipped: %s", exc)
            self._stop.wait(self.interval)
