"""``app.lambda_handler`` without AWS: the app starts once per execution environment."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI

from app.lambda_handler import LambdaApp

REPO = Path(__file__).resolve().parents[2]


def event(path: str = "/ping") -> dict:
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com"},
        "requestContext": {
            "http": {"method": "GET", "path": path, "sourceIp": "203.0.113.10"},
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def app_counting(log: list[str], failures: int = 0) -> FastAPI:
    """An app whose start-up is logged; the first ``failures`` start-ups raise."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.append("start")
        if log.count("start") <= failures:
            raise RuntimeError("the registry cannot be reached")
        yield
        log.append("stop")

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    def ping() -> dict[str, int]:
        return {"starts": log.count("start")}

    return app


def test_the_app_starts_on_the_first_event_and_only_then():
    log: list[str] = []
    handler = LambdaApp(lambda: app_counting(log))
    assert log == []
    answers = [handler(event(), None) for _ in range(3)]
    assert [a["statusCode"] for a in answers] == [200, 200, 200]
    assert [json.loads(a["body"]) for a in answers] == [{"starts": 1}] * 3
    assert log == ["start"]
    handler.close()
    assert log == ["start", "stop"]


def test_a_failed_start_fails_the_event_and_the_next_one_tries_again():
    log: list[str] = []
    handler = LambdaApp(lambda: app_counting(log, failures=1))
    with pytest.raises(Exception, match="registry cannot be reached"):
        handler(event(), None)
    answer = handler(event(), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"starts": 2}
    handler.close()


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


HEAVY = ("fastapi", "mangum", "boto3", "mlflow", "sklearn", "jwt")


def test_importing_the_handler_module_is_light():
    code = (
        "import sys, app.lambda_handler as h; "
        f"print([m for m in {HEAVY!r} if m in sys.modules], h.handler.app is None)"
    )
    assert _python(code) == "[] True"


def test_with_provisioned_concurrency_the_init_phase_starts_the_app(tmp_path):
    code = "import app.lambda_handler as h; print(h.handler.app is not None)"
    started = _python(
        code,
        AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency",
        MLOPS_DATA_DIR=str(tmp_path),
        MLOPS_MODEL_POLL_SECONDS="0",
    )
    assert started.splitlines()[-1] == "True"
