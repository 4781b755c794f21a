"""The OCR function against the emulated cloud: a real upload in the GCS emulator, its
record in the Firestore emulator, and the storage ``finalized`` CloudEvent Eventarc
would deliver for it, handed to ``on_object_finalized`` directly and through
functions-framework's own HTTP app (binary-mode CloudEvent, as Eventarc sends it).

The emulator sends no events, so each event is tests/events/gcp/object_finalized.json
with its data replaced by the object resource the emulator serves for the upload (what
GCS puts in ``data``), and its source/subject pointing at that object.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cloudevents.http import CloudEvent

from app.adapters.gcp.firestore import (
    FirestoreDocumentRecords,
    FirestoreEventLedger,
    FirestoreFeedbackStore,
)
from app.adapters.gcp.gcs import GcsObjectStore
from app.bootstrap import Adapters, Container, build_container, build_upload_worker
from app.domain.documents import DocumentRecord, DocumentStatus
from app.domain.identity import Principal
from app.services.uploads import UploadWorker
from app.settings import load_settings
from functions.gcp import main
from tests.cloud.gcp.firestore_emulator import shared_emulator
from tests.cloud.gcp.gcs_emulator import GcsEmulator

REPO = Path(__file__).resolve().parents[3]
EVENT = REPO / "tests" / "events" / "gcp" / "object_finalized.json"
BUCKET = "ocr-function-uploads"

pytestmark = pytest.mark.slow  # trains a model, runs OCR


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A registry with a champion, trained the way `mlops train` does it."""
    from app.training.train import TrainingRequest, train

    settings = load_settings(data_dir=tmp_path_factory.mktemp("gcp-registry"))
    train(settings, TrainingRequest(generate_per_class=30, heldout_per_class=1, progress=False))
    return settings.tracking_uri


@dataclass
class Stack:
    gcs: GcsEmulator
    container: Container
    ledger: FirestoreEventLedger

    @property
    def records(self) -> Any:
        return self.container.adapters.records

    def worker(self, **settings: Any) -> UploadWorker:
        container = self.container
        if settings:  # another configuration of the same adapters
            changed = container.settings.model_copy(update=settings)
            container = build_container(changed, container.adapters)
        return build_upload_worker(container)

    def upload(self, data: bytes) -> tuple[DocumentRecord, dict[str, Any], dict[str, Any]]:
        """Upload the way the API does; return the pending record and the attributes and
        data of the event Eventarc would deliver for it."""
        record = self.container.documents.upload(Principal("alice"), "scan.png", data)
        return (record, *finalized_event(self.gcs, BUCKET, record.object_key))


def finalized_event(gcs: GcsEmulator, bucket: str, name: str) -> tuple[dict, dict]:
    quoted = urllib.parse.quote(name, safe="")
    resource = requests.get(f"{gcs.endpoint}/storage/v1/b/{bucket}/o/{quoted}", timeout=10)
    resource.raise_for_status()
    attributes = {k: v for k, v in json.loads(EVENT.read_text()).items() if k != "data"}
    attributes.update(
        id=str(uuid.uuid4().int)[:17],
        source=f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        subject=f"objects/{name}",
    )
    return attributes, resource.json()


@pytest.fixture(scope="module")
def stack(gcs_emulator: GcsEmulator, tracking_uri: str, tmp_path_factory) -> Stack:
    from app.adapters.local.jobs import SubprocessJobRunner
    from app.adapters.local.sqlite import SqliteDatabase
    from app.adapters.local.sqlite_jobs import SqliteJobStore
    from app.adapters.mlflow_registry import MlflowModelSource
    from app.services.training_jobs import TrainingJobs

    firestore = shared_emulator().client()
    gcs_emulator.client().create_bucket(BUCKET)
    data_dir = tmp_path_factory.mktemp("gcp-function")
    # The OCR service's settings, as the Pulumi program sets them.
    settings = load_settings(
        cloud="gcp",
        uploads_bucket=BUCKET,
        gcp_project=firestore.project,
        mlflow_tracking_uri=tracking_uri,
        data_dir=data_dir,
        auth_issuer="https://securetoken.google.com/test",
        auth_audience="test",
    )
    registry = MlflowModelSource(settings.tracking_uri, settings.model_name)
    adapters = Adapters(
        objects=GcsObjectStore(BUCKET, client=gcs_emulator.client()),
        records=FirestoreDocumentRecords(firestore),
        feedback=FirestoreFeedbackStore(firestore),
        models=registry,
        registry=registry,
        jobs=TrainingJobs(
            SqliteJobStore(SqliteDatabase(data_dir / "jobs.sqlite3")),
            SubprocessJobRunner(data_dir, env={}),
        ),
        ledger=FirestoreEventLedger(firestore),
    )
    return Stack(gcs_emulator, build_container(settings, adapters), adapters.ledger)


@pytest.fixture
def deployed(stack: Stack, monkeypatch, caplog) -> Stack:
    """The function's per-instance worker is the stack's (instead of one built from the
    environment, which would reach real Google endpoints)."""
    monkeypatch.setattr(main, "worker", lambda: stack.worker())
    caplog.set_level(logging.INFO, logger="functions.gcp")
    return stack


@pytest.fixture
def http_app(deployed: Stack, monkeypatch) -> Any:
    """functions-framework's app for the entrypoint, as ``functions-framework --target=
    on_object_finalized --signature-type=cloudevent`` serves it on Cloud Run."""
    import functions_framework

    # The framework loads the source as module "main" and adds its folder to sys.path.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "main", None)
    app = functions_framework.create_app(
        target="on_object_finalized",
        source=str(REPO / "functions" / "gcp" / "main.py"),
        signature_type="cloudevent",
    )
    monkeypatch.setattr(sys.modules["main"], "worker", lambda: deployed.worker())
    return app.test_client()


def deliver(client: Any, attributes: dict[str, Any], data: dict[str, Any]) -> Any:
    """POST the event in binary mode: attributes as ce-* headers, data as the body."""
    headers = {f"ce-{k}": v for k, v in attributes.items() if k != "datacontenttype"}
    headers["Content-Type"] = attributes["datacontenttype"]
    return client.post("/", headers=headers, data=json.dumps(data))


def handled(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The statuses of the "document handled" lines logged so far."""
    return [
        getattr(r, "status", "")
        for r in caplog.records
        if r.getMessage().startswith("document handled")
    ]


def rendered_invoice() -> bytes:
    from app.synth.documents import make_document
    from app.synth.render import encode, render_pages

    doc = make_document("invoice", "en", 424242)
    return encode(render_pages(doc, dpi=150, degrade="none"), "png")


@pytest.fixture(scope="module")
def invoice() -> bytes:
    return rendered_invoice()


def test_the_recorded_event_has_the_shape_eventarc_delivers():
    event = json.loads(EVENT.read_text())
    assert event["type"] == main.FINALIZED
    bucket, name = event["data"]["bucket"], event["data"]["name"]
    assert event["source"] == f"//storage.googleapis.com/projects/_/buckets/{bucket}"
    assert event["subject"] == f"objects/{name}"
    upload = main.upload_of(event["data"])
    assert (upload.bucket, upload.key, upload.version, upload.size) == (
        bucket,
        name,
        "1763919728498215",
        48213,
    )


def test_an_upload_ends_done_and_a_duplicate_delivery_is_processed_once(deployed, invoice, caplog):
    pending, attributes, data = deployed.upload(invoice)
    assert pending.status is DocumentStatus.PENDING
    assert data["name"] == f"uploads/{pending.id}" and data["size"] == str(len(invoice))

    main.on_object_finalized(CloudEvent(attributes, data))
    done = deployed.records.get(pending.id)
    assert done.status is DocumentStatus.DONE, done.error
    assert done.prediction is not None and done.prediction.label == "invoice"
    assert done.attempts == 1

    # Eventarc delivers at least once: the same event again (same id, same generation).
    main.on_object_finalized(CloudEvent(attributes, data))
    assert handled(caplog) == ["done", "duplicate"]
    assert deployed.records.get(pending.id) == done


def test_through_the_functions_framework_http_app(http_app, deployed, invoice, caplog):
    pending, attributes, data = deployed.upload(invoice)

    answer = deliver(http_app, attributes, data)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    done = deployed.records.get(pending.id)
    assert done.status is DocumentStatus.DONE, done.error
    assert done.attempts == 1

    again = deliver(http_app, {**attributes, "id": "another-delivery"}, data)
    assert again.status_code == 200
    assert handled(caplog) == ["done", "duplicate"]
    assert deployed.records.get(pending.id) == done


def test_an_object_outside_uploads_is_skipped(deployed, caplog):
    event = json.loads(EVENT.read_text())
    data = event.pop("data")
    assert not data["name"].startswith("uploads/")
    main.on_object_finalized(CloudEvent(event, data))
    # The same with its data left as bytes (a binary-mode event without a JSON content type).
    main.on_object_finalized(CloudEvent(event, json.dumps(data).encode()))
    assert handled(caplog) == ["skipped", "skipped"]


def test_another_event_type_is_ignored(deployed, caplog, monkeypatch):
    monkeypatch.setattr(main, "worker", lambda: pytest.fail("the worker was asked"))
    event = json.loads(EVENT.read_text())
    data = event.pop("data")
    event["type"] = "google.cloud.storage.object.v1.deleted"
    main.on_object_finalized(CloudEvent(event, data))
    assert [r.getMessage() for r in caplog.records if r.name == "functions.gcp"] == [
        "ignored an event of type google.cloud.storage.object.v1.deleted"
    ]


@pytest.mark.parametrize(
    "broken",
    [{"name": None}, {"generation": None}, {"size": "many"}],
    ids=["no name", "no generation", "size not a number"],
)
def test_an_event_without_a_usable_object_resource_is_acknowledged(http_app, deployed, broken):
    event = json.loads(EVENT.read_text())
    data = {k: v for k, v in {**event.pop("data"), **broken}.items() if v is not None}
    # A retry would bring the same event: 200, logged, never the worker's business.
    answer = deliver(http_app, event, data)
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_a_poison_object_ends_failed_without_a_retry(http_app, deployed):
    pending, attributes, data = deployed.upload(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    assert deliver(http_app, attributes, data).status_code == 200
    failed = deployed.records.get(pending.id)
    assert failed.status is DocumentStatus.FAILED
    assert failed.error


def test_without_a_champion_the_delivery_fails_and_a_retry_processes_it(
    http_app, deployed, invoice, monkeypatch
):
    # GIVEN an instance whose alias resolves to no model
    monkeypatch.setattr(
        sys.modules["main"], "worker", lambda: deployed.worker(model_alias="no-such-alias")
    )
    pending, attributes, data = deployed.upload(invoice)
    # WHEN Eventarc delivers THEN it gets a 500 (and will retry), the record is untouched
    assert deliver(http_app, attributes, data).status_code == 500
    still = deployed.records.get(pending.id)
    assert (still.status, still.attempts) == (DocumentStatus.PENDING, 0)
    # WHEN the retry reaches a healthy instance THEN the ledger lets it process
    monkeypatch.setattr(sys.modules["main"], "worker", lambda: deployed.worker())
    assert deliver(http_app, attributes, data).status_code == 200
    assert deployed.records.get(pending.id).status is DocumentStatus.DONE


def test_the_worker_built_from_the_environment_processes_an_upload(
    stack, gcs_emulator, invoice, monkeypatch
):
    """No seam: settings, adapters and ledger built by ``worker()`` from the environment
    the Pulumi program sets, the SDKs sent to the emulators by their own variables."""
    from app.settings import get_settings

    settings = stack.container.settings
    for name, value in {
        "MLOPS_CLOUD": "gcp",
        "MLOPS_UPLOADS_BUCKET": BUCKET,
        "MLOPS_GCP_PROJECT": settings.gcp_project,
        "MLOPS_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLOPS_DATA_DIR": str(settings.data_dir),
        "MLOPS_AUTH_ISSUER": settings.auth_issuer,
        "MLOPS_AUTH_AUDIENCE": settings.auth_audience,
        "STORAGE_EMULATOR_HOST": gcs_emulator.endpoint,
        "FIRESTORE_EMULATOR_HOST": shared_emulator().host,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    main.worker.cache_clear()
    try:
        pending, attributes, data = stack.upload(invoice)
        main.on_object_finalized(CloudEvent(attributes, data))
        assert stack.records.get(pending.id).status is DocumentStatus.DONE
        assert main.worker() is main.worker()  # built once per instance
        main.on_object_finalized(CloudEvent(attributes, data))
        assert stack.records.get(pending.id).attempts == 1
    finally:
        get_settings.cache_clear()
        main.worker.cache_clear()
