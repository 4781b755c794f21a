"""A small closed-loop HTTP load generator: N client processes with keep-alive.

Client processes (not threads) so the generator's own GIL does not cap what a
server can show; the same harness drives every server compared in a run.
With ``count_key`` (a path into the JSON answer, e.g. ``("model", "version")``)
each client also tallies the value it finds there in every 200 answer; without
it answers are read and not parsed.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlparse


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]
    counts: Counter[str] = field(default_factory=Counter)  # filled only with ``count_key``

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms) if self.latencies_ms else float("nan")


def _count(counts: Counter[str], raw: bytes, key: tuple[str, ...]) -> None:
    try:
        value = json.loads(raw)
        for part in key:
            value = value[part]
    except (ValueError, KeyError, TypeError, IndexError):
        value = "?"
    counts[str(value)] += 1


def _client(  # type: ignore[no-untyped-def]
    url: str,
    path: str,
    bodies: list[bytes],
    seconds: float,
    start_at: float,
    out,
    count_key: tuple[str, ...] | None = None,
) -> None:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    latencies: list[float] = []
    failures = 0
    counts: Counter[str] = Counter()
    i = 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    while time.time() < deadline:
        body = bodies[i % len(bodies)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
        failures += not ok
        if ok and count_key is not None:
            _count(counts, raw, count_key)  # after the clock: latencies stay comparable
    out.put((latencies, failures, counts))


def run_load(
    url: str,
    path: str,
    payloads: list[object],
    *,
    concurrency: int,
    seconds: float,
    count_key: tuple[str, ...] | None = None,
) -> LoadResult:
    bodies = [json.dumps(p).encode() for p in payloads]
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 0.5
    procs = [
        mp.Process(target=_client, args=(url, path, bodies, seconds, start_at, queue, count_key))
        for _ in range(concurrency)
    ]
    latencies: list[float] = []
    failures = 0
    counts: Counter[str] = Counter()
    try:
        for p in procs:
            p.start()
        for _ in procs:
            lat, fail, counted = queue.get()
            latencies.extend(lat)
            failures += fail
            counts.update(counted)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM turned into an exception): a client blocked on
        # the queue nobody reads would keep the interpreter from exiting.
        for p in procs:
            if p.is_alive():
                p.terminate()
        raise
    for p in procs:
        p.join()
    return LoadResult(len(latencies), failures, seconds, latencies, counts)
