"""OCR Lambda: SQS batches of S3 upload notifications → ``DocumentPipeline.handle``.

An unreadable document ends as a ``failed`` record inside the pipeline; whatever
raises here is transient (no model yet, throttling) and lands in
``batchItemFailures``, so SQS delivers that message again, then dead-letters it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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

from app.domain.documents import (
    DocumentNotFoundError,
    DocumentStatus,
    DocumentUploaded,
    InvalidObjectKeyError,
    check_object_key,
    document_id_from_key,
)
from functions.common import ModelFreshness

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from app.bootstrap import Container

logger = Logger()
metrics = Metrics(namespace="mlops")
# A whole failed batch is reported too, not raised: SQS retries exactly those messages.
processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)


def uploads_in(body: dict[str, Any]) -> Iterator[DocumentUploaded]:
    """The objects an S3 notification says were created; none for ``s3:TestEvent``."""
    for record in S3Event(body).records if "Records" in body else ():
        if record.event_name.startswith("ObjectCreated:"):
            obj = record.s3.get_object
            key = unquote_plus(obj.key)  # notifications carry form-encoded keys
            yield DocumentUploaded(record.s3.bucket.name, key, obj.etag, obj.size)


@dataclass
class Runtime:
    container: Container
    idempotency: IdempotencyConfig
    process: Callable[..., dict[str, str]]  # the pipeline, at most once per bucket/key/etag
    model: ModelFreshness


@functools.cache
def runtime() -> Runtime:
    """Built once per execution environment, on its first message."""
    # The Tracer imports the X-Ray SDK and patches botocore (~0.5 s), so not at import.
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities import idempotency

    from app.bootstrap import build_container
    from app.settings import get_settings

    tracer = Tracer()
    container = build_container(get_settings())
    config = idempotency.IdempotencyConfig(event_key_jmespath="[bucket, key, version]")
    store = idempotency.DynamoDBPersistenceLayer(
        table_name=container.settings.records_table,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="expiration",
    )
    once = idempotency.idempotent_function(
        data_keyword_argument="upload", persistence_store=store, config=config
    )
    freshness = ModelFreshness(container.holder, container.settings.model_poll_seconds)
    return Runtime(container, config, once(tracer.capture_method(_process)), freshness)


def _process(upload: DocumentUploaded) -> dict[str, str]:
    try:
        record = runtime().container.pipeline.handle(upload)
    except DocumentNotFoundError:
        # Records are written before their objects, so a retry would find none either.
        logger.error("an object in uploads/ has no document record; skipped")
        return {"status": "orphaned"}
    if record is None:
        return {"status": "duplicate"}
    name = "documents_processed" if record.status is DocumentStatus.DONE else "documents_failed"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return {"status": record.status.value}


def _record(record: SQSRecord) -> None:
    logger.set_correlation_id(record.message_id)
    for upload in uploads_in(record.json_body):
        try:
            document_id = document_id_from_key(check_object_key(upload.key))
        except InvalidObjectKeyError:
            logger.info("not an upload; skipped", extra={"key": upload.key})
            continue
        with logger.append_context_keys(document_id=document_id):
            runtime().model.ensure()
            logger.info("document handled", extra=runtime().process(upload=upload))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    rt.idempotency.register_lambda_context(context)
    # The claim's lease ends with this invocation: after a crash or a timeout the
    # retry can claim the document again instead of finding it held for 15 minutes.
    rt.container.pipeline.lease_seconds = context.get_remaining_time_in_millis() / 1000
    return process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
