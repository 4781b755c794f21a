"""In-process event delivery: the local stand-in for S3→SQS→Lambda and friends."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from app.domain.documents import (
    DocumentStatus,
    DocumentUploaded,
    document_id_from_key,
)
from app.ports import DocumentRecords
from app.services.model_holder import ModelUnavailableError
from app.services.pipeline import DocumentPipeline

log = logging.getLogger(__name__)


class InProcessDispatcher:
    """Runs the pipeline on a small thread pool (OCR is a subprocess, so threads suffice).

    Example::

        dispatcher = InProcessDispatcher(pipeline, records, workers=1)
        dispatcher.resume()          # finish what a previous run accepted
        dispatcher(event)            # what an upload calls
    """

    def __init__(
        self,
        pipeline: DocumentPipeline,
        records: DocumentRecords,
        *,
        workers: int,
        await_bytes_seconds: float = 900,
    ):
        self.pipeline = pipeline
        self.records = records
        self.workers = workers
        # How long a pending record may wait for its bytes (an upload URL's life).
        self.await_bytes_seconds = await_bytes_seconds
        self._pool = self._new_pool()
        self._closed = False

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr")

    def __call__(self, event: DocumentUploaded) -> Future[None]:
        return self.submit(document_id_from_key(event.key))

    def submit(self, document_id: str) -> Future[None]:
        return self._pool.submit(self._run, document_id)

    def _run(self, document_id: str) -> None:
        try:
            self.pipeline.process(document_id)
        except ModelUnavailableError:
            log.warning("document %s waits: no model is loaded yet", document_id)
        except Exception:
            log.exception("document %s could not be processed", document_id)

    def resume(self) -> int:
        """Requeue work a previous process accepted but never finished; return the count."""
        if self._closed:  # the app started again in the same process (tests, reloads)
            self._pool, self._closed = self._new_pool(), False
        # This process is the only local worker, so anything "processing" now
        # belongs to a process that died.
        self.records.requeue_stuck(older_than_seconds=0)
        pending = []
        cutoff = datetime.now(UTC) - timedelta(seconds=self.await_bytes_seconds)
        for record in self.records.list(status=DocumentStatus.PENDING, limit=1_000_000):
            # A record from upload-url whose bytes have not come yet waits for them
            # (their arrival dispatches it); it is not work to resume.
            if self.pipeline.objects.exists(record.object_key):
                pending.append(record.id)
            elif record.created_at < cutoff:  # its upload URL expired, or a crash lost it
                self.records.fail(record.id, reason="The file never arrived; upload it again.")
        for document_id in reversed(pending):  # oldest first
            self.submit(document_id)
        if pending:
            log.info("resuming %d unfinished document(s)", len(pending))
        return len(pending)

    def shutdown(self, *, wait: bool = True) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
