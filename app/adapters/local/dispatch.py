"""In-process event delivery: the local stand-in for S3→SQS→Lambda and friends."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from app.domain.documents import (
    DocumentStatus,
    DocumentUploaded,
    StorageUnavailableError,
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
        retry_seconds: tuple[float, float] = (1.0, 30.0),
    ):
        self.pipeline = pipeline
        self.records = records
        self.workers = workers
        # How long a pending record may wait for its bytes (an upload URL's life).
        self.await_bytes_seconds = await_bytes_seconds
        # A document that met a storage fault is tried again after the first delay,
        # doubling up to the second, for as long as the server runs: the local stand-in
        # for a cloud queue's redelivery.
        self.retry_seconds = retry_seconds
        self._retries: dict[str, threading.Timer] = {}
        self._retry_lock = threading.Lock()
        self._pool = self._new_pool()
        self._closed = False

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr")

    def __call__(self, event: DocumentUploaded) -> Future[None]:
        return self.submit(document_id_from_key(event.key))

    def submit(self, document_id: str, *, retry: int = 0) -> Future[None]:
        return self._pool.submit(self._run, document_id, retry)

    @property
    def waiting_on_storage(self) -> int:
        """How many documents wait to be tried again after a storage fault."""
        with self._retry_lock:
            return len(self._retries)

    def _run(self, document_id: str, retry: int = 0) -> None:
        try:
            if retry:
                self._reclaim(document_id)
            self.pipeline.process(document_id)
        except ModelUnavailableError:
            log.warning("document %s waits: no model is loaded yet", document_id)
        except StorageUnavailableError as exc:
            self._retry_later(document_id, retry, exc)
        except Exception:
            log.exception("document %s could not be processed", document_id)

    def _reclaim(self, document_id: str) -> None:
        """Before a retry: a claim the failed attempt could not hand back (the store was
        down) is this process's own, since it is the only local worker; hand it back
        now rather than wait out the lease."""
        record = self.records.get(document_id)
        if record.status is DocumentStatus.PROCESSING:
            self.records.release(document_id, attempt=record.attempts)

    def _retry_later(self, document_id: str, retry: int, exc: Exception) -> None:
        first, longest = self.retry_seconds
        delay = min(first * 2**retry, longest)
        log.warning("document %s: %s; trying again in %.0f s", document_id, exc, delay)
        timer = threading.Timer(delay, self._retry_now, args=(document_id, retry + 1))
        timer.daemon = True
        with self._retry_lock:
            if self._closed:
                return  # the next start resumes it
            self._retries[document_id] = timer
        timer.start()

    def _retry_now(self, document_id: str, retry: int) -> None:
        with self._retry_lock:
            self._retries.pop(document_id, None)
            if self._closed:
                return
            self.submit(document_id, retry=retry)

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
        with self._retry_lock:
            self._closed = True
            for timer in self._retries.values():
                timer.cancel()
            self._retries.clear()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
