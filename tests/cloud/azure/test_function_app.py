"""The OCR Function against the emulated cloud: a document uploaded to Azurite through its
SAS URL, then the Event Grid ``BlobCreated`` delivery Azure would send for that blob,
handed to the function's entrypoints as the Functions host does.

Azurite emits no Event Grid events, so each delivery is the recorded event
(tests/events/azure/blob_created.json) with the blob's own subject, eTag, size and URL.
Records and the event ledger are the Cosmos adapters over the fake Cosmos database
(no Cosmos emulator runs here); the model is found through an ``mlflow server`` and read
from Azurite's artifacts container.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
import requests

from app.adapters.azure.blob import BlobObjectStore, service_client
from app.adapters.azure.cosmos import CosmosDocumentRecords
from app.domain.documents import DocumentRecord, DocumentStatus
from app.domain.identity import Principal
from app.domain.models import ModelNotFoundError
from app.services.documents import DocumentService
from app.settings import get_settings
from functions.azure import function_app as ocr
from tests.cloud.azure.azurite import Azurite
from tests.cloud.azure.conftest import MlflowServer
from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase

EVENTS = Path(__file__).parents[2] / "events" / "azure"
UPLOADS = "ocr-function-uploads"
COSMOS = "https://mlops-cosmos.documents.azure.com:443/"

# The functions as the host calls them (the decorators wrap them in builders).
on_blob_created = ocr.on_blob_created.build().get_user_function()
eventgrid = ocr.eventgrid.build().get_user_function()


def recorded(name: str) -> list[dict[str, Any]]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class Stack:
    store: BlobObjectStore
    documents: DocumentService
    records: CosmosDocumentRecords
    cosmos: FakeCosmosDatabase

    def blob_created(self, key: str) -> list[dict[str, Any]]:
        """The Event Grid delivery (an array of one event) for the blob now under ``key``."""
        blob = self.store.service.get_blob_client(self.store.bucket, key)
        properties = blob.get_blob_properties()
        delivery = copy.deepcopy(recorded("blob_created.json"))
        event = delivery[0]
        event["id"] = str(uuid.uuid4())
        event["eventTime"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        event["subject"] = f"/blobServices/default/containers/{self.store.bucket}/blobs/{key}"
        event["data"].update(
            eTag=properties.etag.strip('"'),  # events carry it without the header's quotes
            contentLength=properties.size,
            contentType=properties.content_settings.content_type,
            url=blob.url,
        )
        return delivery

    def marker(self, delivery: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The event ledger's marker of a delivery's blob version, if any."""
        upload = ocr.upload_of(delivery[0]["subject"], delivery[0]["data"])
        markers = self.cosmos.get_container_client("idempotency").stored()
        found = [m for m in markers if m["key"] == upload.idempotency_key]
        return found[0] if found else None

    def upload(self, data: bytes) -> tuple[DocumentRecord, list[dict[str, Any]]]:
        """Upload as a browser does (an upload URL, then a PUT to the SAS); return the
        pending record and its Event Grid delivery."""
        record, presigned = self.documents.upload_url(Principal("alice"), "scan.png", "image/png")
        response = requests.put(presigned.url, data=data, headers=presigned.headers, timeout=10)
        assert response.status_code == 201, response.text
        return record, self.blob_created(record.object_key)


def trigger_event(delivery: list[dict[str, Any]]) -> func.EventGridEvent:
    """One event of a delivery as the host binds it to ``on_blob_created``."""
    (event,) = delivery
    return func.EventGridEvent(
        id=event["id"],
        data=event["data"],
        topic=event["topic"],
        subject=event["subject"],
        event_type=event["eventType"],
        event_time=datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")),
        data_version=event["dataVersion"],
    )


def webhook_request(body: bytes) -> func.HttpRequest:
    return func.HttpRequest(
        "POST",
        "https://mlops-ocr.azurewebsites.net/api/eventgrid?code=function-key",
        headers={"Content-Type": "application/json", "aeg-event-type": "Notification"},
        body=body,
    )


@pytest.fixture(scope="module")
def stack(azurite_env: Azurite) -> Stack:
    service = service_client(connection_string=azurite_env.connection_string)
    service.create_container(UPLOADS)
    store = BlobObjectStore(UPLOADS, service=service)
    cosmos = FakeCosmosDatabase()
    records = CosmosDocumentRecords(cosmos)
    documents = DocumentService(
        objects=store,
        records=records,
        dispatch=lambda _event: None,  # in the cloud, Event Grid dispatches
        max_bytes=20 * 1024 * 1024,
    )
    return Stack(store, documents, records, cosmos)


@pytest.fixture(scope="module")
def function_env(
    stack: Stack, blob_mlflow_server: MlflowServer, azurite_env: Azurite, tmp_path_factory
) -> Iterator[None]:
    """The Function App's settings, as the Pulumi program sets them; Cosmos is the fake.
    The model comes through the MLflow server's REST API and the artifacts container."""
    import app.adapters.azure.cosmos as cosmos

    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "MLOPS_CLOUD": "azure",
            "MLOPS_UPLOADS_BUCKET": UPLOADS,
            "MLOPS_AZURE_STORAGE_CONNECTION_STRING": azurite_env.connection_string,
            "MLOPS_AZURE_COSMOS_ENDPOINT": COSMOS,
            "MLOPS_MLFLOW_TRACKING_URI": blob_mlflow_server.tracking_uri,
            "MLOPS_DATA_DIR": str(tmp_path_factory.mktemp("function-tmp")),
            "MLOPS_AUTH_ISSUER": "https://login.microsoftonline.com/tenant/v2.0",
            "MLOPS_AUTH_AUDIENCE": "ocr-tests",
        }.items():
            env.setenv(name, value)
        # The one seam: the Cosmos client every adapter (and the ledger) is built from.
        env.setattr(cosmos, "cosmos_database", lambda endpoint, name, credential=None: stack.cosmos)
        fresh_runtime()
        yield
    fresh_runtime()


def fresh_runtime() -> None:
    """A new worker process: settings and the worker are built again."""
    get_settings.cache_clear()
    ocr.worker.cache_clear()


def handled(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The statuses of the "document handled" lines logged so far."""
    return [r.status for r in caplog.records if r.getMessage().startswith("document handled")]


def rendered_invoice() -> bytes:
    from app.synth.documents import make_document
    from app.synth.render import encode, render_pages

    doc = make_document("invoice", "en", 424242)
    return encode(render_pages(doc, dpi=150, degrade="none"), "png")


@pytest.fixture(scope="module")
def processed(stack: Stack, function_env: None) -> tuple[DocumentRecord, list[dict[str, Any]]]:
    """One real upload, through the trigger once: (pending record, its delivery)."""
    record, delivery = stack.upload(rendered_invoice())
    on_blob_created(trigger_event(delivery))
    return record, delivery


def test_the_app_declares_the_trigger_and_the_webhook():
    # The function.json the host indexes for each function.
    bindings = {
        f.get_function_name(): json.loads(f.get_function_json()) for f in ocr.app.get_functions()
    }
    assert bindings["on_blob_created"]["bindings"] == [
        {"direction": "IN", "type": "eventGridTrigger", "name": "event"}
    ]
    (http, _out) = bindings["eventgrid"]["bindings"]
    assert (http["type"], http["route"], http["methods"], http["authLevel"]) == (
        "httpTrigger", "eventgrid", ["POST"], "FUNCTION"
    )  # fmt: skip


def test_the_recorded_event_names_its_blob_unencoded():
    (event,) = recorded("blob_created.json")
    upload = ocr.upload_of(event["subject"], event["data"])
    assert (upload.bucket, upload.key) == ("uploads", "uploads/scan 1(2).png")
    assert (upload.version, upload.size) == ("0x8DD0B7E1C4A5F3E", 48213)
    assert requests.utils.unquote(event["data"]["url"]).endswith("/uploads/" + upload.key)


def test_an_upload_ends_done_with_a_prediction(stack, processed, caplog):
    pending, delivery = processed
    assert pending.status is DocumentStatus.PENDING
    assert delivery[0]["subject"].endswith(f"/blobs/uploads/{pending.id}")
    done = stack.records.get(pending.id)
    assert done.status is DocumentStatus.DONE, done.error
    assert done.prediction is not None and done.prediction.label == "invoice"
    assert done.attempts == 1
    assert done.size == delivery[0]["data"]["contentLength"]


def test_the_same_event_twice_is_processed_once(stack, processed, caplog):
    pending, delivery = processed
    before = stack.records.get(pending.id)
    on_blob_created(trigger_event(delivery))
    assert handled(caplog) == ["duplicate"]
    assert stack.records.get(pending.id) == before
    # The ledger answered, from the marker the first delivery finished.
    assert stack.marker(delivery)["status"] == "done"


def test_the_webhook_processes_a_delivery(stack, function_env, caplog):
    record, delivery = stack.upload(rendered_invoice())
    response = eventgrid(webhook_request(json.dumps(delivery).encode()))
    assert response.status_code == 200, response.get_body()
    assert json.loads(response.get_body()) == {
        "results": [{"status": "done", "document_id": record.id}]
    }
    assert stack.records.get(record.id).status is DocumentStatus.DONE
    # Delivered again (Event Grid retries when it saw no answer): processed once.
    again = eventgrid(webhook_request(json.dumps(delivery).encode()))
    assert json.loads(again.get_body())["results"][0]["status"] == "duplicate"


def test_the_webhook_answers_the_subscription_handshake(function_env, caplog):
    response = eventgrid(webhook_request((EVENTS / "subscription_validation.json").read_bytes()))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_body()) == {
        "validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    }
    assert handled(caplog) == []


def test_the_trigger_ignores_the_handshake_and_other_events(function_env, caplog):
    on_blob_created(trigger_event(recorded("subscription_validation.json")))
    deleted = recorded("blob_created.json")
    deleted[0]["eventType"] = "Microsoft.Storage.BlobDeleted"
    on_blob_created(trigger_event(deleted))
    assert handled(caplog) == []
    assert "ignored an event of type Microsoft.Storage.BlobDeleted" in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b'[{"eventType": "Microsoft.Storage.BlobCreated", "data": {}}]', b"[1]"],
)
def test_the_webhook_refuses_malformed_bodies(function_env, body):
    response = eventgrid(webhook_request(body))
    assert response.status_code == 400  # Event Grid does not retry a 400
    assert json.loads(response.get_body())["error"].startswith("Not an Event Grid delivery")


def test_a_blob_that_is_not_an_upload_is_skipped(stack, function_env, caplog):
    # A recorded event: "uploads/scan 1(2).png" is a name the API never writes.
    on_blob_created(trigger_event(recorded("blob_created.json")))
    # A blob of another container, under a key that would otherwise be an upload's.
    record, _ = stack.upload(rendered_invoice())
    other = service_client(connection_string=os.environ["MLOPS_AZURE_STORAGE_CONNECTION_STRING"])
    other.create_container("elsewhere").upload_blob(record.object_key, b"\x89PNG")
    elsewhere = stack.blob_created(record.object_key)
    elsewhere[0]["subject"] = elsewhere[0]["subject"].replace(f"/{UPLOADS}/", "/elsewhere/")
    on_blob_created(trigger_event(elsewhere))
    assert handled(caplog) == []
    assert stack.records.get(record.id).status is DocumentStatus.PENDING


def test_a_poison_blob_ends_failed_without_a_retry(stack, function_env):
    record, delivery = stack.upload(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    on_blob_created(trigger_event(delivery))  # returns: Event Grid does not deliver again
    failed = stack.records.get(record.id)
    assert failed.status is DocumentStatus.FAILED
    assert failed.error


def test_an_upload_over_the_limit_fails_although_the_sas_took_it(stack, function_env, monkeypatch):
    # A SAS cannot cap the size; the decode limits of the pipeline do.
    monkeypatch.setenv("MLOPS_MAX_UPLOAD_BYTES", "1000")
    fresh_runtime()
    try:
        record, delivery = stack.upload(rendered_invoice())
        assert delivery[0]["data"]["contentLength"] > 1000
        on_blob_created(trigger_event(delivery))
        failed = stack.records.get(record.id)
        assert failed.status is DocumentStatus.FAILED
        assert "limit" in (failed.error or "")
    finally:
        monkeypatch.delenv("MLOPS_MAX_UPLOAD_BYTES")
        fresh_runtime()


def test_without_a_champion_the_invocation_fails_and_the_record_stays_pending(
    stack, function_env, monkeypatch
):
    monkeypatch.setenv("MLOPS_MODEL_ALIAS", "no-such-alias")
    fresh_runtime()
    try:
        record, delivery = stack.upload(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
        # The host reports the invocation failed; Event Grid delivers the event again.
        with pytest.raises(ModelNotFoundError):
            on_blob_created(trigger_event(delivery))
        still = stack.records.get(record.id)
        assert (still.status, still.attempts) == (DocumentStatus.PENDING, 0)
        assert stack.marker(delivery) is None  # released: the retry will process it
        with pytest.raises(ModelNotFoundError):  # the webhook's host answers 500
            eventgrid(webhook_request(json.dumps(delivery).encode()))
    finally:
        monkeypatch.delenv("MLOPS_MODEL_ALIAS")
        fresh_runtime()
