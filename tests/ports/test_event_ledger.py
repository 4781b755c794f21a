"""The EventLedger port: one behaviour suite over every ledger (in memory, DynamoDB on
moto, Cosmos on its fake, Firestore on its emulator).

``event_ledgers()`` makes the ledger of one process; two of them share one store, as two
deliveries of the same storage event on two instances do in the cloud.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.ports import EventLedger
from tests.ports.conftest import EMULATED_WITHOUT_LOCKS

KEY = "uploads/uploads/8f0c@0x8DC"  # bucket/key@version: slashes and all
LEASE, TTL = 600, 3600


def test_adapter_satisfies_the_port(event_ledgers):
    assert isinstance(event_ledgers(), EventLedger)


def test_the_first_delivery_begins_and_a_finished_one_is_a_duplicate(event_ledgers):
    first, second = event_ledgers(), event_ledgers()
    assert first.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True
    first.finish(KEY)
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is False
    assert second.begin("uploads/uploads/other@1", lease_seconds=LEASE, ttl_seconds=TTL)


def test_a_delivery_in_progress_is_not_taken_while_its_lease_runs(event_ledgers):
    first, second = event_ledgers(), event_ledgers()
    assert first.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is False


def test_an_expired_lease_is_taken_over_once(event_ledgers):
    dead, second, third = event_ledgers(), event_ledgers(), event_ledgers()
    assert dead.begin(KEY, lease_seconds=-1, ttl_seconds=TTL) is True  # its process died
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True
    assert third.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is False


def test_a_released_delivery_lets_the_next_one_begin(event_ledgers):
    first, second = event_ledgers(), event_ledgers()
    assert first.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True
    first.release(KEY)
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True


def test_release_leaves_a_finished_delivery_alone(event_ledgers):
    first, second = event_ledgers(), event_ledgers()
    assert first.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL)
    first.finish(KEY)
    first.release(KEY)  # a late release after the finish
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is False


def test_a_late_release_keeps_the_marker_of_the_delivery_that_took_over(event_ledgers):
    # GIVEN a delivery whose lease ended, and another that took the upload over
    late, current, third = event_ledgers(), event_ledgers(), event_ledgers()
    assert late.begin(KEY, lease_seconds=-1, ttl_seconds=TTL)
    assert current.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL)
    # WHEN the late one fails and releases THEN the current one still holds it
    late.release(KEY)
    assert third.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is False
    # and the current one's own release still works
    current.release(KEY)
    assert third.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True


def test_a_release_by_a_process_that_did_not_begin_changes_nothing(event_ledgers):
    holder, stranger, third = event_ledgers(), event_ledgers(), event_ledgers()
    assert holder.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL)
    stranger.release(KEY)
    assert third.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is False


def test_a_finished_delivery_is_forgotten_when_its_ttl_ends(event_ledgers):
    first, second = event_ledgers(), event_ledgers()
    assert first.begin(KEY, lease_seconds=LEASE, ttl_seconds=1)
    first.finish(KEY)  # remembered for the ttl given at begin
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=1) is False
    time.sleep(2.1)  # whole seconds: some stores round the expiry up
    assert second.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL) is True


def _race(request, event_ledgers, lease_seconds: float) -> list[bool]:
    if request.node.callspec.params.get("event_ledgers") in EMULATED_WITHOUT_LOCKS:
        pytest.skip(
            "moto evaluates a condition and writes without a lock, so threads race inside"
            " the emulator; DynamoDB's conditional writes are atomic, and the condition"
            " itself is covered by the sequential tests"
        )
    ledger = event_ledgers()
    if lease_seconds < 0:
        assert ledger.begin(KEY, lease_seconds=lease_seconds, ttl_seconds=TTL)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(lambda _: ledger.begin(KEY, lease_seconds=LEASE, ttl_seconds=TTL), range(16))
        )


def test_concurrent_deliveries_begin_once(event_ledgers, request):
    assert _race(request, event_ledgers, LEASE).count(True) == 1


def test_concurrent_takeovers_of_an_expired_lease_grant_one(event_ledgers, request):
    assert _race(request, event_ledgers, -1).count(True) == 1
