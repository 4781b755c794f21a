"""P1: /v1/predict throughput and latency, ours vs `mlflow models serve`, same model.

Run: `make bench-serve` (or `.venv/bin/python bench/serve.py --seconds 20`).
Both servers get one worker, single-text requests at concurrency 4, on 127.0.0.1.
Goal: ours >= 3x mlflow serve's requests/s, p99 <= 15 ms.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import LoadResult, run_load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} not ready after {timeout} s")


def train_model(data_dir: Path) -> None:
    env = {**os.environ, "MLOPS_DATA_DIR": str(data_dir)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "train",
            "--generate",
            "200",
            "--heldout",
            "1",
            "--quiet",
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def texts() -> list[str]:
    from app.synth.documents import iter_documents
    from app.text.cleaning import clean_text

    return [clean_text(d.text) for d in iter_documents(per_class=4, seed=99)]


def start_ours(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "MLOPS_DATA_DIR": str(data_dir),
        "MLOPS_PORT": str(port),
        "MLOPS_LOG_LEVEL": "WARNING",
    }
    return spawn([sys.executable, "-m", "app.cli", "serve"], env, port)


def start_mlflow(data_dir: Path) -> tuple[subprocess.Popen, str]:
    from app.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    # mlflow serve execs `uvicorn` by name: the virtualenv's bin must be on PATH.
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
    }
    mlflow_bin = str(Path(venv_bin) / "mlflow")
    command = [mlflow_bin, "models", "serve", "-m", f"models:/{settings.model_name}@champion"]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    return spawn(command, env, port)


def spawn(command: list[str], env: dict[str, str], port: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/health", proc)
    return proc, url


def row(name: str, result: LoadResult) -> str:
    return (
        f"{name:<22} {result.requests:>8} {result.failures:>6} {result.rps:>9.1f}"
        f" {result.p50:>8.2f} {result.p99:>8.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    sample = texts()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        data_dir = Path(tmp)
        print("training a model for the benchmark ...", flush=True)
        train_model(data_dir)
        results = {}
        for name, starter, payload in (
            ("ours (/v1/predict)", start_ours, lambda t: {"texts": [t]}),
            ("mlflow models serve", start_mlflow, lambda t: {"dataframe_records": [{"text": t}]}),
        ):
            proc, url = starter(data_dir)
            path = "/v1/predict" if name.startswith("ours") else "/invocations"
            try:
                run_load(
                    url, path, [payload(t) for t in sample], concurrency=args.concurrency, seconds=2
                )  # warm-up
                results[name] = run_load(
                    url,
                    path,
                    [payload(t) for t in sample],
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    ours, anchor = results["ours (/v1/predict)"], results["mlflow models serve"]
    print(f"\nP1 serve: concurrency {args.concurrency}, {args.seconds:.0f} s each, one worker each")
    print(f"{'server':<22} {'requests':>8} {'fails':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(row("ours (/v1/predict)", ours))
    print(row("mlflow models serve", anchor))
    ratio = ours.rps / anchor.rps if anchor.rps else float("inf")
    print(
        f"throughput ratio ours/mlflow: {ratio:.2f}x"
        f" (goal >= 3x: {'met' if ratio >= 3 else 'MISSED'})"
    )
    print(f"our p99: {ours.p99:.2f} ms (goal <= 15 ms: {'met' if ours.p99 <= 15 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
