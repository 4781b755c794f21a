"""P2: cold start of the API Lambda vs. loading the same champion with MLflow.

Run: `make bench-cold-start` (or `.venv/bin/python bench/cold_start.py --runs 7`).
Set up once, not timed, as the AWS stack has it but emulated on 127.0.0.1: a moto server
(S3, DynamoDB, Cognito), an MLflow tracking server (subprocess, SQLite backend, artifacts in
the emulated S3 bucket, `--no-serve-artifacts`, prefix /mlflow), a champion trained with
`mlops train`, the uploads bucket, the records table, a Cognito user pool and a signed-in
user: auth stays on, the event carries a real bearer token.
Then `--runs` times each, interleaved, after one untimed run of each (OS file cache):
- Lambda: a fresh Python process imports `app.lambda_handler` and hands its handler an
  API Gateway HTTP API (v2) `POST /v1/predict` event (one text): the first event of an
  execution environment, so it starts the app and loads the champion;
- anchor: a fresh Python process imports mlflow, runs
  `mlflow.pyfunc.load_model("models:/document-classifier@champion")` and predicts one text.
Reported per side: in-process time (perf_counter at the script's first line to the answer)
and total (process spawned to answer read, interpreter start included), median [min-max];
the Lambda's in-process time also by phase (module import, app start, first event).
Goal: the Lambda's total (what Lambda's init + first invocation would see) median <= 1.0 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._workdir import in_workdir
from bench.serve import free_port
from bench.swap import log_tail, stop

REPO = Path(__file__).resolve().parent.parent

GOAL_SECONDS = 1.0
MIN_RUNS = 5
REGION = "eu-west-3"
MODEL = "document-classifier"
ARTIFACTS = "mlops-artifacts"
UPLOADS = "mlops-uploads"
TABLE = "mlops-records"
TRAIN_ARGS = ("train", "--generate", "60", "--heldout", "1", "--quiet")
TEXT = "FACTURE N° 2024-118 — Total TTC 1 250,00 EUR, TVA 20 %, échéance 30 jours"

LAMBDA_SCRIPT = """\
import time; t0 = time.perf_counter()
import json, sys
event = json.loads(sys.argv[1])
from app.lambda_handler import handler
t_import = time.perf_counter()
handler.start()  # what the first event does first; timed apart for the breakdown
t_start = time.perf_counter()
response = handler(event, None)
t1 = time.perf_counter()
body = json.loads(response["body"])
label = body["predictions"][0]["label"] if response["statusCode"] == 200 else body
phases = {"import": t_import - t0, "start": t_start - t_import, "event": t1 - t_start}
print("RESULT " + json.dumps({"seconds": t1 - t0, "status": response["statusCode"],
                              "label": label, "phases": phases}), flush=True)
"""

ANCHOR_SCRIPT = """\
import time; t0 = time.perf_counter()
import sys
import mlflow
import pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
label = model.predict(pd.DataFrame({"text": [sys.argv[2]]}))[0]
t1 = time.perf_counter()
import json
print("RESULT " + json.dumps({"seconds": t1 - t0, "status": 200, "label": str(label)}),
      flush=True)
"""


@dataclass(frozen=True)
class Run:
    in_process: float
    total: float
    label: str
    phases: dict[str, float]


@dataclass
class Emulated:
    """What the set-up leaves running, and the environments of the two kinds of process."""

    moto: object
    mlflow: subprocess.Popen
    lambda_env: dict[str, str]
    anchor_env: dict[str, str]
    event: dict


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


def start_mlflow(work: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """The tracking server as the stack runs it; the caller stops it, even if this raises."""
    port = free_port()
    log = (work / "mlflow-server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=1",
            f"--backend-store-uri=sqlite:///{work / 'mlflow.db'}",
            f"--default-artifact-root=s3://{ARTIFACTS}/mlflow",
            "--no-serve-artifacts",
            "--static-prefix=/mlflow",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/mlflow"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop(proc)
    print(log_tail(work / "mlflow-server.log"), file=sys.stderr)
    raise SystemExit(f"the MLflow tracking server did not start (exit code {proc.returncode})")


def set_up(work: Path) -> Emulated:
    import boto3
    from moto.server import ThreadedMotoServer

    from app.adapters.aws.dynamodb import TABLE_SCHEMA
    from tests.cloud.aws.apigw import cognito_pool, http_api_event

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    base = {**os.environ, **aws_env(endpoint)}
    for key in [k for k in base if k.startswith(("MLOPS_", "MLFLOW_"))]:
        del base[key]  # the caller's settings must not leak into either side

    def client(service: str):  # a boto3 client
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    s3 = client("s3")
    for bucket in (ARTIFACTS, UPLOADS):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    client("dynamodb").create_table(TableName=TABLE, **TABLE_SCHEMA)
    pool = cognito_pool(client("cognito-idp"), endpoint, REGION, ("alice",))

    mlflow_proc, tracking_uri = start_mlflow(work, base)
    print(f"  moto server {endpoint}, MLflow tracking server {tracking_uri}", flush=True)
    print(f"  mlops {' '.join(TRAIN_ARGS)} (artifacts to the emulated S3)", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *TRAIN_ARGS],
        env={
            **base,
            "MLOPS_DATA_DIR": str(work / "train"),
            "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
            "MLOPS_MLFLOW_ARTIFACT_ROOT": f"s3://{ARTIFACTS}/mlflow",
        },
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout[-2000:] + done.stderr[-4000:], file=sys.stderr)
        stop(mlflow_proc)
        raise SystemExit(f"mlops train exited with {done.returncode}")
    print(f"    done in {time.perf_counter() - t0:.1f} s", flush=True)

    lambda_env = {
        **base,
        # What the Pulumi program sets on the API function.
        "MLOPS_CLOUD": "aws",
        "MLOPS_UPLOADS_BUCKET": UPLOADS,
        "MLOPS_RECORDS_TABLE": TABLE,
        "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
        "MLOPS_DATA_DIR": str(work / "lambda-tmp"),
        "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
        "MLOPS_LOG_LEVEL": "WARNING",
        **pool.env(),
    }
    anchor_env = {**base, "MLFLOW_TRACKING_URI": tracking_uri}
    body = json.dumps({"texts": [TEXT]}).encode()
    event = http_api_event("POST", "/v1/predict", token=pool.tokens["alice"], body=body)
    return Emulated(moto, mlflow_proc, lambda_env, anchor_env, event)


def timed(args: list[str], env: dict[str, str]) -> Run:
    """Spawn ``python -c <script> *args``; time until its RESULT line is read."""
    # stderr to a file: a pipe nobody reads while stdout is read could fill and block.
    with tempfile.TemporaryFile(mode="w+") as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        result = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("RESULT "):
                total = time.perf_counter() - started
                result = json.loads(line.removeprefix("RESULT "))
                break
        try:
            proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        errors.seek(0)
        err = errors.read()
    if result is None or result["status"] != 200:
        print(err[-4000:], file=sys.stderr)
        raise SystemExit(f"the cold-start process failed: {result or proc.returncode}")
    return Run(result["seconds"], total, str(result["label"]), result.get("phases", {}))


def summary(name: str, runs: list[Run]) -> tuple[float, float]:
    inner = [r.in_process for r in runs]
    total = [r.total for r in runs]
    med_in, med_total = statistics.median(inner), statistics.median(total)
    print(
        f"{name:<32} {med_in:7.3f} [{min(inner):.3f}-{max(inner):.3f}]"
        f"   {med_total:7.3f} [{min(total):.3f}-{max(total):.3f}]"
    )
    return med_in, med_total


def run(args: argparse.Namespace, work: Path) -> int:
    print("setting up the emulated AWS stack (not timed) ...", flush=True)
    stack = set_up(work)
    try:
        lambda_args = ["-c", LAMBDA_SCRIPT, json.dumps(stack.event)]
        anchor_args = ["-c", ANCHOR_SCRIPT, f"models:/{MODEL}@champion", TEXT]
        print("warming the OS file cache: one untimed run of each ...", flush=True)
        timed(lambda_args, stack.lambda_env)
        timed(anchor_args, stack.anchor_env)
        ours: list[Run] = []
        anchor: list[Run] = []
        for i in range(args.runs):
            ours.append(timed(lambda_args, stack.lambda_env))
            anchor.append(timed(anchor_args, stack.anchor_env))
            print(
                f"  run {i + 1}/{args.runs}: lambda {ours[-1].total:.3f} s,"
                f" mlflow {anchor[-1].total:.3f} s",
                flush=True,
            )
    finally:
        stop(stack.mlflow)
        stack.moto.stop()  # type: ignore[attr-defined]

    print(f"\nP2 cold start: {args.runs} fresh processes each, one text, same champion")
    print(f"{'seconds: median [min-max]':<32} {'in-process':>22}   {'total (process start)':>22}")
    ours_in, ours_total = summary("lambda handler (API GW v2 event)", ours)
    anchor_in, anchor_total = summary("mlflow.pyfunc.load_model", anchor)
    print(
        f"ratio lambda/anchor (medians): in-process {ours_in / anchor_in:.2f},"
        f" total {ours_total / anchor_total:.2f}"
    )
    phase = {k: statistics.median(r.phases[k] for r in ours) for k in ("import", "start", "event")}
    print(
        f"lambda in-process, median by phase: import app.lambda_handler {phase['import']:.3f},"
        f" app start (container + champion load) {phase['start']:.3f},"
        f" first event (token check, predict) {phase['event']:.3f}"
    )
    labels = {r.label for r in ours} | {r.label for r in anchor}
    print(f"labels answered: {sorted(labels)} (both sides load the same version)")
    met = ours_total <= GOAL_SECONDS
    print(
        f"goal: Lambda cold start (total, median) <= {GOAL_SECONDS:.1f} s:"
        f" {ours_total:.3f} s -> {'PASS' if met else 'MISS'}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help=f">= {MIN_RUNS} per side")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be >= {MIN_RUNS}")

    return in_workdir("bench-cold-start-", lambda work: run(args, work), keep=args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
