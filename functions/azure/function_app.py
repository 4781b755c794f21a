"""OCR on Azure Functions (Python v2 model): Event Grid ``BlobCreated`` → ``UploadWorker``.

Two doors, one translation: ``on_blob_created`` is the Event Grid trigger the storage
account's system topic delivers to (the Functions host answers the subscription handshake
itself), and ``eventgrid`` is a plain webhook (``POST /api/eventgrid?code=<function key>``)
for a subscription that delivers to a URL: it answers the ``SubscriptionValidationEvent``
and takes arrays of events. An unreadable document ends as a ``failed`` record inside the
pipeline; whatever raises here is transient (no model yet, storage unavailable), so the
invocation fails, Event Grid delivers the event again and finally dead-letters it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import azure.functions as func

from app.domain.documents import DocumentUploaded

if TYPE_CHECKING:
    from app.services.uploads import UploadWorker

app = func.FunctionApp()
log = logging.getLogger("functions.azure")

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"


@functools.cache
def worker() -> UploadWorker:
    """Built once per worker process, on its first event."""
    from app.bootstrap import build_container, build_upload_worker
    from app.settings import get_settings

    settings = get_settings()
    log.setLevel(settings.log_level)
    return build_upload_worker(build_container(settings))


def upload_of(subject: str, data: Mapping[str, Any]) -> DocumentUploaded:
    """The upload a ``BlobCreated`` event describes. The subject names the blob unencoded
    (``/blobServices/default/containers/<container>/blobs/<name>``; ``data.url`` is
    percent-encoded); ``eTag`` is the blob's, without the quotes of its HTTP header."""
    _, found, path = subject.partition("/containers/")
    container, _, name = path.partition("/blobs/")
    if not (found and container and name):
        raise ValueError(f"not a blob subject: {subject!r}")
    return DocumentUploaded(
        bucket=container,
        key=name,
        version=str(data["eTag"]).strip('"'),
        size=int(data.get("contentLength") or 0),
    )


def _handle(upload: DocumentUploaded, event_id: str) -> dict[str, str]:
    result = worker().handle(upload)
    if "document_id" in result:  # not a blob outside uploads/ of the uploads container
        log.info("document handled: %s", result, extra={"event_id": event_id, **result})
    return result


@app.event_grid_trigger(arg_name="event")
def on_blob_created(event: func.EventGridEvent) -> None:
    if event.event_type != BLOB_CREATED:  # the handshake never reaches here: the host answers
        log.info("ignored an event of type %s", event.event_type)
        return
    try:
        upload = upload_of(event.subject, event.get_json())
    except (KeyError, TypeError, ValueError):
        # Delivering it again would not make it readable: log it, let Event Grid move on.
        log.error("a malformed BlobCreated event; dropped", extra={"event_id": event.id})
        return
    _handle(upload, event.id)


@app.route(route="eventgrid", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def eventgrid(req: func.HttpRequest) -> func.HttpResponse:
    """Event Grid's webhook delivery. 400 (which Event Grid does not retry) for a body that
    is not an array of events; a transient failure raises, and the host answers 500."""
    try:
        events = req.get_json()
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValueError("the body is not an array of Event Grid events")
        for e in events:
            if e.get("eventType") == VALIDATION:
                return _json({"validationResponse": str(e["data"]["validationCode"])})
        uploads = [
            (upload_of(e["subject"], e["data"]), str(e.get("id", "")))
            for e in events
            if e.get("eventType") == BLOB_CREATED
        ]
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"no {exc} field" if isinstance(exc, KeyError) else str(exc)
        log.warning("refused an Event Grid delivery: %s", reason)
        return _json({"error": f"Not an Event Grid delivery: {reason}."}, status_code=400)
    for e in events:
        if e.get("eventType") != BLOB_CREATED:
            log.info("ignored an event of type %s", e.get("eventType"))
    return _json({"results": [_handle(upload, event_id) for upload, event_id in uploads]})


def _json(body: object, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status_code, mimetype="application/json")
