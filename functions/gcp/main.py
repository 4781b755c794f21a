"""OCR on Cloud Run: storage ``finalized`` CloudEvents from Eventarc → ``UploadWorker``.

Run by functions-framework (``--target=on_object_finalized --signature-type=cloudevent``).
An unreadable document ends as a ``failed`` record inside the pipeline; whatever raises
here is transient (no model yet, storage unavailable), so the framework answers 500 and
Eventarc delivers the event again, then sends it to the dead-letter topic.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import functions_framework

from app.domain.documents import DocumentUploaded

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from app.services.uploads import UploadWorker

log = logging.getLogger("functions.gcp")

FINALIZED = "google.cloud.storage.object.v1.finalized"


@functools.cache
def worker() -> UploadWorker:
    """Built once per instance, on its first event."""
    from app.bootstrap import build_container, build_upload_worker
    from app.settings import get_settings

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return build_upload_worker(build_container(settings))


def upload_of(data: Mapping[str, Any]) -> DocumentUploaded:
    """The upload a GCS object resource (the event's data) describes. Names are not
    URL-encoded there; ``size`` and ``generation`` are strings, as in the JSON API."""
    return DocumentUploaded(
        bucket=data["bucket"],
        key=data["name"],
        version=str(data["generation"]),
        size=int(data.get("size") or 0),
    )


@functions_framework.cloud_event
def on_object_finalized(event: CloudEvent) -> None:
    if event["type"] != FINALIZED:
        # The trigger filters on the type: another one means a misconfigured trigger.
        log.warning("ignored an event of type %s", event["type"])
        return
    data = event.get_data()
    if isinstance(data, bytes | str):  # a binary-mode event sent without a JSON content type
        data = json.loads(data)
    if not isinstance(data, Mapping):  # a retry would bring the same nothing
        log.warning("ignored a finalized event without an object resource: %r", data)
        return
    try:
        upload = upload_of(data)
    except (KeyError, TypeError, ValueError) as exc:  # a retry would bring the same event
        log.error(
            "ignored a finalized event with an unusable object resource (%s: %s)",
            type(exc).__name__,
            exc,
            extra={"event_id": event["id"]},
        )
        return
    result = worker().handle(upload)
    log.info("document handled: %s", result, extra={"event_id": event["id"], **result})
