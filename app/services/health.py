"""Whether the service can record documents now, for ``/health``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.domain.documents import StorageDamagedError

log = logging.getLogger(__name__)


class StorageHealth:
    """The records store answers ``probe`` (a cheap read the adapter set offers; none in
    the cloud, where the store is a managed service the platform watches) and no document
    waits for a retry after a storage fault. Probed at most every ``interval`` seconds and
    never twice at once, so a public ``/health`` cannot turn into load on the store; the
    details go to the log, not to the caller.

    Example::

        health = StorageHealth(db.check, waiting=lambda: dispatcher.waiting_on_storage)
        health.problem()   # None, or "damaged: see the server log"
    """

    def __init__(
        self,
        probe: Callable[[], object] | None = None,
        *,
        waiting: Callable[[], int] | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe = probe
        self.waiting = waiting
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._problem: str | None = None

    def problem(self) -> str | None:
        # While a probe runs (a slow disk), other callers get the last answer at once.
        if not self._lock.acquire(blocking=False):
            return self._problem
        try:
            if self.clock() - self._checked_at >= self.interval:
                self._problem = self._probe()
                self._checked_at = self.clock()
            return self._problem
        finally:
            self._lock.release()

    def _probe(self) -> str | None:
        try:
            if self.probe is not None:
                self.probe()
        except StorageDamagedError as exc:
            log.error("records store damaged: %s", exc)
            return "damaged: see the server log"
        except Exception as exc:  # whatever it is, the answer is "not now", never a 500
            log.warning("records store unavailable: %s", exc)
            return "unavailable: see the server log"
        waiting = self.waiting() if self.waiting is not None else 0
        if waiting:
            return f"{waiting} document(s) wait for storage to recover"
        return None
