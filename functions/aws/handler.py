"""OCR Lambda: SQS batches of S3 upload notifications → ``UploadWorker``.

Powertools reports the failed messages alone (``batchItemFailures``), so SQS delivers
exactly those again, then dead-letters them; whatever raises is transient (no model yet,
throttling, another delivery holding the upload). The worker's ledger is the records
table (``DynamoEventLedger``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.s3_event import S3Event

from app.domain.documents import DocumentUploaded

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics(namespace="mlops")
# A whole failed batch is reported too, not raised: SQS retries exactly those messages.
processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)
METRIC_OF = {"done": "documents_processed", "failed": "documents_failed"}


def uploads_in(body: dict[str, Any]) -> Iterator[DocumentUploaded]:
    """The objects an S3 notification says were created; none for ``s3:TestEvent``."""
    for record in S3Event(body).records if "Records" in body else ():
        if record.event_name.startswith("ObjectCreated:"):
            obj = record.s3.get_object
            key = unquote_plus(obj.key)  # notifications carry form-encoded keys
            yield DocumentUploaded(record.s3.bucket.name, key, obj.etag, obj.size)


@functools.cache
def runtime() -> Callable[..., dict[str, str]]:
    """The traced worker, built once per execution environment on its first message."""
    # The Tracer imports the X-Ray SDK and patches botocore (~0.5 s), so not at import.
    from aws_lambda_powertools import Tracer

    from app.bootstrap import build_container, build_upload_worker
    from app.settings import get_settings

    return Tracer().capture_method(build_upload_worker(build_container(get_settings())).handle)


def _record(record: SQSRecord, lease_seconds: float) -> None:
    logger.set_correlation_id(record.message_id)
    for upload in uploads_in(record.json_body):
        result = runtime()(upload, lease_seconds=lease_seconds)
        if "document_id" in result:  # not an object outside uploads/
            logger.info("document handled", extra=result)
        if result["status"] in METRIC_OF:
            metrics.add_metric(name=METRIC_OF[result["status"]], unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A delivery's lease ends with this invocation: after a crash or a timeout the
    # retry can take the upload over instead of finding it held for 15 minutes.
    lease = context.get_remaining_time_in_millis() / 1000
    return process_partial_response(
        event=event,
        record_handler=functools.partial(_record, lease_seconds=lease),
        processor=processor,
        context=context,
    )
