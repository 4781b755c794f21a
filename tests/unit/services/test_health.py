"""/health's view of the records store: cheap, cached, never a 500, never a pile-up."""

from __future__ import annotations

import threading

from app.domain.documents import StorageDamagedError, StorageUnavailableError
from app.services.health import StorageHealth


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_fault_is_named_and_any_error_is_unavailable_not_a_crash():
    def raising(error):
        def probe():
            raise error

        return probe

    assert StorageHealth(lambda: None).problem() is None
    assert StorageHealth(None).problem() is None  # a managed cloud store: not probed
    damaged = StorageHealth(raising(StorageDamagedError("records.sqlite3 was deleted")))
    assert damaged.problem() == "damaged: see the server log"
    for error in (StorageUnavailableError("records", "locked"), RuntimeError("boto blew up")):
        assert StorageHealth(raising(error)).problem() == "unavailable: see the server log"
    waiting = StorageHealth(lambda: None, waiting=lambda: 2)
    assert waiting.problem() == "2 document(s) wait for storage to recover"


def test_the_store_is_probed_at_most_once_per_interval():
    calls = []
    clock = Clock()
    health = StorageHealth(lambda: calls.append(1), interval=5, clock=clock)
    for _ in range(10):
        health.problem()
    assert len(calls) == 1
    clock.now += 5
    health.problem()
    assert len(calls) == 2


def test_callers_do_not_queue_behind_a_slow_probe():
    release = threading.Event()
    health = StorageHealth(lambda: release.wait(10), interval=0)
    slow = threading.Thread(target=health.problem)
    slow.start()
    while not health._lock.locked():
        pass
    assert health.problem() is None  # the last answer, at once
    release.set()
    slow.join()
