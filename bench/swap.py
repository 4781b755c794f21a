"""R4: hot swap of the champion under load, through the models API, with no failed request.

Run: `.venv/bin/python bench/swap.py` (options: --seconds 20 --concurrency 4 --interval 3).
Trains two versions in a throw-away registry, serves them with `mlops serve` (one worker,
registry polling off), then drives single-text /v1/predict requests at concurrency 4 on
127.0.0.1 for two phases of the same length: "steady" (no swap) and "swapping" (a thread
promotes version 1, 2, 1, 2, ... every `--interval` s with
POST /v1/models/document-classifier/aliases/champion). Clients tally the model version of
each answer, so the swaps are seen from the client side, and /health must report the last
version promoted once the load stops.
Goal: 0 failures (non-200 answers, connection errors, failed or wrong swaps); the p99
during swaps is reported against the steady p99.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import LoadResult, run_load
from bench._workdir import in_workdir
from bench.serve import free_port, texts, wait_ready

MODEL = "document-classifier"
ALIAS_PATH = f"/v1/models/{MODEL}/aliases/champion"
MIN_SECONDS = 20.0
MIN_SWAPS = 5


@dataclass(frozen=True)
class Swap:
    version: int
    ms: float
    ok: bool
    detail: str = ""


def swap_offsets(seconds: float, interval: float) -> list[float]:
    """Seconds after the load starts at which a swap begins: every interval, inside the load."""
    offsets: list[float] = []
    k = 1
    while k * interval < seconds:
        offsets.append(k * interval)
        k += 1
    return offsets


def isolated_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment, pinned to the local registry in data_dir (never a real one)."""
    return {
        **os.environ,
        "MLOPS_DATA_DIR": str(data_dir),
        "MLOPS_CLOUD": "local",
        "MLOPS_MLFLOW_TRACKING_URI": "",
        "MLOPS_AUTH": "off",
        **extra,
    }


def train(data_dir: Path, *, seed: int, promote: str | None) -> None:
    args = ["train", "--generate", "100", "--heldout", "1", "--seed", str(seed), "--quiet"]
    if promote:
        args[-1:-1] = ["--promote", promote]
    print(f"  mlops {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=isolated_env(data_dir),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout[-2000:] + done.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"mlops train exited with {done.returncode}")
    print(f"    done in {time.perf_counter() - t0:.1f} s", flush=True)


def start_server(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start `mlops serve`; the caller stops it (see :func:`stop`), even if this raises."""
    port = free_port()
    env = isolated_env(
        data_dir,
        MLOPS_HOST="127.0.0.1",
        MLOPS_PORT=str(port),
        MLOPS_LOG_LEVEL="WARNING",
        MLOPS_TRAIN_ON_EMPTY_REGISTRY="false",
        MLOPS_MODEL_POLL_SECONDS="0",  # swaps happen through the API only
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=log, stderr=log
        )
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def check_alive(proc: subprocess.Popen, log_path: Path) -> None:
    """Stop the run with the server's log if it died: the figures would be meaningless."""
    if proc.poll() is not None:
        print(log_tail(log_path), file=sys.stderr)
        raise SystemExit(f"mlops serve exited with {proc.returncode} during the load")


def serving_version(url: str) -> str | None:
    try:
        response = httpx.get(url + "/health", timeout=10)
        return str(response.json()["model"]["version"]) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def describe_registry(url: str) -> None:
    try:
        response = httpx.get(url + "/v1/models", timeout=10)
    except httpx.HTTPError as exc:
        print(f"  GET /v1/models failed: {exc!r}")
        return
    if response.status_code != 200:
        print(f"  GET /v1/models -> HTTP {response.status_code}: {response.text[:200]}")
        return
    body = response.json()
    for v in body.get("versions", []):
        aliases = ", ".join(v.get("aliases") or []) or "-"
        print(f"  version {v.get('version')}: aliases {aliases}")
    print(f"  serving: version {body.get('serving', {}).get('version')}")


class Swapper(threading.Thread):
    """Promotes versions in turn at fixed offsets from ``start_at`` (a time.time() value)."""

    def __init__(self, url: str, versions: list[int], start_at: float, offsets: list[float]):
        super().__init__(name="swapper", daemon=True)
        self.url = url
        self.versions = versions
        self.start_at = start_at
        self.offsets = offsets
        self.swaps: list[Swap] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for i, offset in enumerate(self.offsets):
                if self.halt.wait(max(0.0, self.start_at + offset - time.time())):
                    return
                self.swaps.append(self.swap(client, self.versions[i % len(self.versions)]))

    @staticmethod
    def swap(client: httpx.Client, version: int) -> Swap:
        t0 = time.perf_counter()
        try:
            response = client.post(ALIAS_PATH, json={"version": version})
        except httpx.HTTPError as exc:
            return Swap(version, (time.perf_counter() - t0) * 1000, False, repr(exc))
        ms = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            return Swap(version, ms, False, f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
            serving, alias = str(body["serving"]["version"]), str(body["version"])
        except (ValueError, KeyError, TypeError):
            return Swap(version, ms, False, f"unexpected answer: {response.text[:200]}")
        if serving != str(version) or alias != str(version):
            return Swap(
                version, ms, False, f"asked {version}, got alias {alias}, serving {serving}"
            )
        return Swap(version, ms, True)


def row(name: str, result: LoadResult) -> str:
    return (
        f"{name:<10} {result.requests:>9} {result.rps:>9.1f} {result.failures:>8}"
        f" {result.p50:>8.2f} {result.p99:>8.2f} {result.max_ms:>8.2f}"
    )


def run(args: argparse.Namespace, data_dir: Path) -> int:
    offsets = swap_offsets(args.seconds, args.interval)
    print(f"training two versions of {MODEL} in {data_dir} ...", flush=True)
    train(data_dir, seed=1, promote=None)
    train(data_dir, seed=2, promote="always")
    sample = [{"texts": [t]} for t in texts()]

    log_path = data_dir / "server.log"
    proc: subprocess.Popen | None = None
    try:
        print("starting mlops serve ...", flush=True)
        proc, url = start_server(data_dir, log_path)
        try:
            wait_ready(url + "/health", proc)
        except SystemExit:
            print(log_tail(log_path), file=sys.stderr)
            raise
        first = serving_version(url)
        print(f"  {url} ready, serving version {first}")
        if first != "2":
            raise SystemExit(f"expected version 2 (promoted last) to serve first, got {first}")
        describe_registry(url)

        run_load(url, "/v1/predict", sample, concurrency=args.concurrency, seconds=2)  # warm-up
        print(f"phase A (steady): {args.seconds:.0f} s, no swap ...", flush=True)
        steady = run_load(
            url, "/v1/predict", sample, concurrency=args.concurrency, seconds=args.seconds
        )
        check_alive(proc, log_path)

        print(
            f"phase B (swapping): {args.seconds:.0f} s, {len(offsets)} swaps,"
            f" one every {args.interval:g} s ...",
            flush=True,
        )
        # run_load starts its clients 0.5 s after it is called: swaps count from there.
        swapper = Swapper(url, [1, 2], time.time() + 0.5, offsets)
        swapper.start()
        try:
            swapping = run_load(
                url,
                "/v1/predict",
                sample,
                concurrency=args.concurrency,
                seconds=args.seconds,
                count_key=("model", "version"),
            )
        finally:
            swapper.halt.set()
            swapper.join(timeout=60)
        check_alive(proc, log_path)
        final = serving_version(url)
    finally:
        stop(proc)

    swaps = swapper.swaps
    failed_swaps = [s for s in swaps if not s.ok]
    missed = len(offsets) - len(swaps)  # not attempted before the load stopped
    promoted = [s for s in swaps if s.ok]
    expected_final = str(promoted[-1].version) if promoted else "2"
    health_ok = final == expected_final
    failures = steady.failures + swapping.failures + len(failed_swaps) + missed + (not health_ok)

    print(
        f"\nR4 hot swap: concurrency {args.concurrency}, {args.seconds:.0f} s per phase,"
        f" a swap every {args.interval:g} s, one worker"
    )
    print(
        f"{'phase':<10} {'requests':>9} {'req/s':>9} {'failures':>8}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    print(row("steady", steady))
    print(row("swapping", swapping))
    swap_ms = [s.ms for s in swaps]
    if swap_ms:
        print(
            f"swaps done: {len(swaps) - len(failed_swaps)}/{len(offsets)}"
            f" (API p50 {statistics.median(swap_ms):.1f} ms, max {max(swap_ms):.1f} ms)"
        )
    else:
        print(f"swaps done: 0/{len(offsets)}")
    for detail, n in Counter(s.detail for s in failed_swaps).most_common(5):
        print(f"  {n} failed swap(s): {detail}")
    if missed:
        print(f"  {missed} swap(s) not attempted before the load stopped")
    seen = ", ".join(f"v{v} {n}" for v, n in sorted(swapping.counts.items()))
    print(f"responses per model version during swaps: {seen or 'none'}")
    if len(swapping.counts) < 2:
        print("  WARNING: clients saw a single version: the swaps were not visible")
    print(
        f"/health after the load: version {final} (last promoted {expected_final}:"
        f" {'ok' if health_ok else 'MISMATCH'})"
    )
    print(f"failures: {failures} (goal 0)")
    ratio = swapping.p99 / steady.p99 if steady.p99 else float("nan")
    print(f"p99 during swaps / without: {ratio:.2f}×")
    return 0 if failures == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=MIN_SECONDS, help="per phase, >= 20")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between swaps")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    if args.seconds < MIN_SECONDS:
        parser.error(f"--seconds must be >= {MIN_SECONDS:g}")
    if args.concurrency < 1:
        parser.error("--concurrency must be >= 1")
    if args.interval <= 0:
        parser.error("--interval must be > 0")
    planned = len(swap_offsets(args.seconds, args.interval))
    if planned < MIN_SWAPS:
        parser.error(
            f"--seconds {args.seconds:g} with --interval {args.interval:g} gives {planned} swaps;"
            f" at least {MIN_SWAPS} are needed"
        )

    return in_workdir("bench-swap-", lambda data_dir: run(args, data_dir), keep=args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
