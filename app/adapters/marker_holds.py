"""Which event-ledger markers this process wrote and still holds.

Every ledger (``EventLedger``) writes a random ``holder`` token into the marker a
delivery begins and keeps it here, so its ``release`` deletes that marker only while it
still carries the token: a delivery whose lease ended and was taken over by another one
cannot delete the other's marker. Tokens are kept per key and thread, since one worker
process may handle several events at once. No I/O here.

Example::

    def begin(self, key, *, lease_seconds, ttl_seconds):
        return self._holds.begin(key, ttl_seconds, lambda token: self._write(key, token))

    def release(self, key):
        hold = self._holds.pop(key)   # None: this process began no delivery of it
        ...                           # delete the marker if it still carries hold.token
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

# Remembered when a ledger is asked to finish a marker it did not begin: a week.
DEFAULT_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Hold:
    token: str
    ttl_seconds: int = DEFAULT_TTL_SECONDS


class MarkerHolds:
    def __init__(self) -> None:
        self._held: dict[tuple[str, int], Hold] = {}

    def begin(self, key: str, ttl_seconds: int, write: Callable[[str], bool]) -> bool:
        """Run ``write(token)``, the ledger's conditional write of a marker carrying
        ``token``; hold the token if it wrote (True), nothing if not or if it raised."""
        hold = Hold(uuid.uuid4().hex, ttl_seconds)
        if not write(hold.token):
            return False
        self._held[(key, threading.get_ident())] = hold
        return True

    def pop(self, key: str) -> Hold | None:
        """What this thread holds of ``key``, no longer held; None if nothing."""
        return self._held.pop((key, threading.get_ident()), None)
