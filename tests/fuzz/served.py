"""The app the fuzzer attacks: real local adapters, a real model, three callers, real objects.

Built through the real bootstrap (``build_adapters`` → ``build_container`` →
``create_app``) on a temporary data dir, with auth required (local dev issuer).
One adapter is swapped: training jobs run in memory, because an admin case
posting ``{"generate_per_class": 5000}`` would otherwise start a real training
subprocess and hold both cores for the rest of the session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.auth.dev import mint
from app.bootstrap import build_adapters, build_container
from app.settings import Settings, load_settings
from tests.fuzz.model import register_small_champion
from tests.unit.fakes import FakeTrainingJobs
from tests.unit.ocr.samples import encode, render_text

ROLES = ("admin", "user", "other")
OWNER = "user"


def fuzz_settings(data_dir: Path) -> Settings:
    return load_settings(
        data_dir=data_dir,
        auth="required",
        train_on_empty_registry=False,
        model_poll_seconds=0,
        auto_retrain=False,
    )


class StartedApp:
    """The app as schemathesis sees it: :func:`serve` runs its lifespan once per session.

    Schemathesis starts an ASGI app's lifespan on the first request and stops it
    after every test item, which would reload the model and restart the OCR
    workers per operation and role. Refusing the lifespan scope before reading a
    message is how an app says it has none; the real one runs in :func:`serve`.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        # What `flatmap_path_parameters` mixes into generated ids, once they exist.
        self.real_ids: dict[str, str] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("the fuzz session fixture owns this app's lifespan")
        if self.app is None:
            raise RuntimeError("the `served` fixture has not started the app yet")
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Served:
    tokens: dict[str, str]
    # Path parameter name -> an id that exists; documents and predictions belong to OWNER.
    real_ids: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@contextmanager
def serve(data_dir: Path, started: StartedApp) -> Iterator[Served]:
    """Train, start the app, create OWNER's objects; yield what the fuzzer needs."""
    settings = fuzz_settings(data_dir)
    register_small_champion(settings)
    adapters = build_adapters(settings)
    adapters.jobs, adapters.openers, adapters.closers = FakeTrainingJobs(), [], []
    app = create_app(settings, build_container(settings, adapters))
    tokens = {
        role: mint(settings.dev_auth_dir, f"fuzz-{role}", admin=role == "admin", minutes=24 * 60)
        for role in ROLES
    }
    with TestClient(app) as client:
        served = Served(tokens=tokens, real_ids={})
        served.real_ids.update(_create_objects(client, served, settings.model_name))
        started.app, started.real_ids = app, served.real_ids
        try:
            yield served
        finally:
            started.app, started.real_ids = None, {}


def _create_objects(client: TestClient, served: Served, model_name: str) -> dict[str, str]:
    owner, admin = served.headers(OWNER), served.headers("admin")
    assert client.get("/health").status_code == 200, "the trained model did not load"
    predicted = client.post(
        "/v1/predict", json={"texts": ["Facture 2024-117, total TTC 1 250,00 EUR"]}, headers=owner
    )
    assert predicted.status_code == 200, predicted.text
    image, _ = render_text("FACTURE 2024-117 Total TTC 1250 EUR", width=900, font_px=40)
    uploaded = client.post(
        "/v1/documents", files={"file": ("facture.png", encode(image), "image/png")}, headers=owner
    )
    assert uploaded.status_code == 202, uploaded.text
    document_id = uploaded.json()["id"]
    _wait_until_done(client, document_id, owner)
    grant = client.post(
        "/v1/documents/upload-url",
        json={"filename": "scan.png", "content_type": "image/png"},
        headers=owner,
    )
    assert grant.status_code == 201, grant.text
    job = client.post("/v1/training-jobs", json={}, headers=admin)
    assert job.status_code == 202, job.text
    return {
        "document_id": document_id,
        "prediction_id": predicted.json()["predictions"][0]["id"],
        "token": urlsplit(grant.json()["url"]).path.rsplit("/", 1)[-1],
        "job_id": job.json()["id"],
        "name": model_name,
    }


def _wait_until_done(client: TestClient, document_id: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(f"/v1/documents/{document_id}", headers=headers).json()
        if body["status"] == "done":
            return
        assert body["status"] != "failed", body
        time.sleep(0.2)
    raise AssertionError(f"the owner's document was not processed in time: {body}")


# The one app object the schema is bound to at import; `serve` plugs the real app in.
STARTED = StartedApp()
