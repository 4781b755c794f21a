"""In-process event delivery: the local stand-in for S3→SQS→Lambda and friends."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from app.domain.documents import (
    DocumentStatus,
    DocumentUploaded,
    StorageDamagedError,
    StorageUnavailableError,
    document_id_from_key,
)
from app.ports import DocumentRecords
from app.services.model_holder import ModelUnavailableError
from app.services.pipeline import DocumentPipeline

log = logging.getLogger(__name__)


class InProcessDispatcher:
    """Runs the pipeline on a small thread pool (OCR is a subprocess, so threads suffice).

    A document that meets a storage fault (a full disk, a locked database, a throttling
    store) is tried again after ``retry_seconds[0]``, doubling up to ``retry_seconds[1]``,
    by one scheduler thread: the local stand-in for a cloud queue's redelivery. After
    ``give_up_seconds`` of faults it is failed with a reason, as a queue dead-letters;
    a damaged store is not retried at all (``/health`` says so, an operator must act).

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
        give_up_seconds: float = 3600,
    ):
        self.pipeline = pipeline
        self.records = records
        self.workers = workers
        # How long a pending record may wait for its bytes (an upload URL's life).
        self.await_bytes_seconds = await_bytes_seconds
        self.retry_seconds = retry_seconds
        self.give_up_seconds = give_up_seconds
        # Document id -> (retries so far, when its first fault came): one entry per
        # document while it waits for a retry or one is running.
        self._waiting: dict[str, tuple[int, float]] = {}
        self._due: list[tuple[float, str]] = []  # a heap of (when, document id)
        self._running: Counter[str] = Counter()  # documents a worker is processing now
        self._wake = threading.Condition()
        self._scheduler: threading.Thread | None = None
        self._pool = self._new_pool()
        self._closed = False

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr")

    def __call__(self, event: DocumentUploaded) -> Future[None]:
        return self.submit(document_id_from_key(event.key))

    def submit(self, document_id: str) -> Future[None]:
        return self._pool.submit(self._run, document_id)

    @property
    def waiting_on_storage(self) -> int:
        """How many documents wait to be tried again after a storage fault."""
        with self._wake:
            return len(self._waiting)

    def _run(self, document_id: str) -> None:
        with self._wake:
            self._running[document_id] += 1
            retrying = document_id in self._waiting
        try:
            if retrying:
                self._reclaim(document_id)
            self.pipeline.process(document_id)
        except ModelUnavailableError:
            log.warning("document %s waits: no model is loaded yet", document_id)
        except StorageDamagedError as exc:
            log.error("document %s waits for the store to be mended: %s", document_id, exc)
        except StorageUnavailableError as exc:
            self._retry_later(document_id, exc)
            return
        except Exception:
            log.exception("document %s could not be processed", document_id)
        finally:
            with self._wake:
                self._running[document_id] -= 1
                if not self._running[document_id]:
                    del self._running[document_id]
        with self._wake:
            self._waiting.pop(document_id, None)

    def _reclaim(self, document_id: str) -> None:
        """Before a retry: a claim the failed attempt could not hand back (the store was
        down) is this process's own when no other worker here processes the document
        (this process is the only local worker); hand it back now rather than wait out
        the lease."""
        with self._wake:
            if self._running[document_id] > 1:
                return
        record = self.records.get(document_id)
        if record.status is DocumentStatus.PROCESSING:
            self.records.release(document_id, attempt=record.attempts)

    def _retry_later(self, document_id: str, exc: Exception) -> None:
        now = time.monotonic()
        with self._wake:
            retries, since = self._waiting.get(document_id, (0, now))
        if now - since >= self.give_up_seconds and self._give_up(document_id, now - since):
            with self._wake:
                self._waiting.pop(document_id, None)
            return
        first, longest = self.retry_seconds
        delay = min(first * 2 ** min(retries, 20), longest)
        log.warning("document %s: %s; trying again in %.1f s", document_id, exc, delay)
        with self._wake:
            if self._closed:
                self._waiting.pop(document_id, None)
                return  # the next start resumes it
            self._waiting[document_id] = (retries + 1, since)
            heapq.heappush(self._due, (now + delay, document_id))
            if self._scheduler is None:
                self._scheduler = threading.Thread(
                    target=self._schedule, name="ocr-retries", daemon=True
                )
                self._scheduler.start()
            self._wake.notify()

    def _give_up(self, document_id: str, waited: float) -> bool:
        """Fail a document whose storage kept failing; False if even that cannot be
        written (it keeps waiting, and /health keeps saying so)."""
        reason = (
            f"Storage kept failing for {waited / 60:.0f} minutes while this document was"
            " processed; upload it again."
        )
        try:
            self._reclaim(document_id)
            self.records.fail(document_id, reason=reason)
        except StorageUnavailableError:
            return False
        log.error("document %s failed: storage kept failing for %.0f s", document_id, waited)
        return True

    def _schedule(self) -> None:
        """The one thread that hands documents back to the pool when their retry is due."""
        with self._wake:
            while not self._closed:
                if not self._due:
                    self._wake.wait()
                    continue
                when, document_id = self._due[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
                if document_id in self._waiting:
                    self._pool.submit(self._run, document_id)
            self._scheduler = None

    def resume(self) -> int:
        """Requeue work a previous process accepted but never finished; return the count."""
        if self._closed:  # the app started again in the same process (tests, reloads)
            with self._wake:
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
        with self._wake:
            self._closed = True
            self._waiting.clear()
            self._due.clear()
            self._wake.notify_all()
            scheduler = self._scheduler
        if scheduler is not None:
            scheduler.join(timeout=5)
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
