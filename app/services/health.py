"""Whether the service can record documents now, for ``/health``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.domain.documents import StorageDamagedError, StorageUnavailableError
from app.ports import DocumentRecords

log = logging.getLogger(__name__)


class StorageHealth:
    """The records store answers a read, and no document waits for a retry after a
    storage fault. Asked at most every ``interval`` seconds, so a public ``/health``
    cannot turn into load on the store; the details go to the log, not to the caller.

    Example::

        health = StorageHealth(records, waiting=lambda: dispatcher.waiting_on_storage)
        health.problem()   # None, or "damaged: see the server log"
    """

    def __init__(
        self,
        records: DocumentRecords,
        *,
        waiting: Callable[[], int] | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.records = records
        self.waiting = waiting
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._problem: str | None = None

    def problem(self) -> str | None:
        with self._lock:
            if self.clock() - self._checked_at >= self.interval:
                self._problem = self._probe()
                self._checked_at = self.clock()
            return self._problem

    def _probe(self) -> str | None:
        try:
            self.records.list(limit=1)
        except StorageDamagedError as exc:
            log.error("records store damaged: %s", exc)
            return "damaged: see the server log"
        except StorageUnavailableError as exc:
            log.warning("records store unavailable: %s", exc)
            return "unavailable: see the server log"
        waiting = self.waiting() if self.waiting is not None else 0
        if waiting:
            return f"{waiting} document(s) wait for storage to recover"
        return None
