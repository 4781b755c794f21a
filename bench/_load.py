"""A small closed-loop HTTP load generator: N client processes with keep-alive.

Client processes (not threads) so the generator's own GIL does not cap what a
server can show; the same harness drives every server compared in a run.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]

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


def _client(url: str, path: str, bodies: list[bytes], seconds: float, start_at: float, out) -> None:  # type: ignore[no-untyped-def]
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    latencies: list[float] = []
    failures = 0
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
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
        failures += not ok
    out.put((latencies, failures))


def run_load(
    url: str, path: str, payloads: list[object], *, concurrency: int, seconds: float
) -> LoadResult:
    bodies = [json.dumps(p).encode() for p in payloads]
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 0.5
    procs = [
        mp.Process(target=_client, args=(url, path, bodies, seconds, start_at, queue))
        for _ in range(concurrency)
    ]
    for p in procs:
        p.start()
    latencies: list[float] = []
    failures = 0
    for _ in procs:
        lat, fail = queue.get()
        latencies.extend(lat)
        failures += fail
    for p in procs:
        p.join()
    return LoadResult(len(latencies), failures, seconds, latencies)
