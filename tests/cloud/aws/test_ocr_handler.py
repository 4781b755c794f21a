"""The OCR Lambda against the emulated cloud: a real upload's S3 notification, read
from the SQS queue it was delivered to, is handed to ``handler`` as Lambda would.

Each message is read from the queue, never written by hand; the test event S3
sends when the notification is configured is read from there too.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from app.adapters.aws.dynamodb import (
    EXPIRATION,
    TABLE_SCHEMA,
    DynamoDocumentRecords,
    DynamoEventLedger,
)
from app.adapters.aws.s3 import S3ObjectStore
from app.domain.documents import DocumentRecord, DocumentStatus
from app.domain.identity import Principal
from app.services.documents import DocumentService
from app.services.pipeline import DocumentPipeline
from app.settings import get_settings
from functions.aws import handler as ocr
from tests.cloud.aws.conftest import REGION, MotoServer, S3Registry

EVENTS = Path(__file__).parents[2] / "events" / "aws"
BUCKET = "ocr-handler-uploads"
TABLE = "ocr-handler-records"
QUEUE = "ocr-handler-queue"
FUNCTION = "mlops-ocr"

# A batch of nothing but a test event has no metric to publish: powertools warns, rightly.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@dataclass
class LambdaContext:
    function_name: str = FUNCTION
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Stack:
    s3: Any
    sqs: Any
    dynamodb: Any
    queue_url: str
    queue_arn: str
    documents: DocumentService
    records: DynamoDocumentRecords
    configured: list[dict] = field(default_factory=list)  # what configuring notified

    def receive(self, count: int) -> list[dict]:
        """Wait for ``count`` messages; delete them, as the event source mapping does
        (failed ones too, so a retry cannot leak into the next test)."""
        messages: list[dict] = []
        for _ in range(20):
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
            )
            messages += answer.get("Messages", [])
            if len(messages) >= count:
                break
        for m in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        assert len(messages) == count, messages
        return messages

    def lambda_event(self, messages: list[dict]) -> dict:
        """The messages in the shape the SQS event source mapping invokes Lambda with."""
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }

    def ledger_item(self, event: dict) -> dict | None:
        """The event ledger's item of the (one) upload in a Lambda event, if any."""
        [upload] = ocr.uploads_in(json.loads(event["Records"][0]["body"]))
        key = {"pk": {"S": f"EVENT#{upload.idempotency_key}"}, "sk": {"S": "EVENT"}}
        answer = self.dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
        return answer.get("Item")

    def upload(self, data: bytes) -> tuple[DocumentRecord, dict]:
        """Upload the way the API does; return the pending record and its Lambda event."""
        record = self.documents.upload(Principal("alice"), "scan.png", data)
        return record, self.lambda_event(self.receive(1))


@pytest.fixture(scope="module")
def stack(moto_server: MotoServer) -> Stack:
    s3, sqs, dynamodb = (moto_server.client(s) for s in ("s3", "sqs", "dynamodb"))
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    dynamodb.create_table(TableName=TABLE, **TABLE_SCHEMA)
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "ocr-uploads",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )
    records = DynamoDocumentRecords(TABLE, client=dynamodb)
    documents = DocumentService(
        objects=S3ObjectStore(BUCKET, client=s3),
        records=records,
        dispatch=lambda _event: None,  # in the cloud the bucket notification dispatches
        max_bytes=20 * 1024 * 1024,
    )
    stack = Stack(s3, sqs, dynamodb, queue_url, queue_arn, documents, records)
    stack.configured = stack.receive(1)
    return stack


@pytest.fixture(scope="module")
def lambda_env(stack: Stack, s3_registry: S3Registry, tmp_path_factory) -> Iterator[None]:
    """The OCR function's environment, as the Pulumi program sets it."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "MLOPS_CLOUD": "aws",
            "MLOPS_UPLOADS_BUCKET": BUCKET,
            "MLOPS_RECORDS_TABLE": TABLE,
            "MLOPS_MLFLOW_TRACKING_URI": s3_registry.tracking_uri,
            "MLOPS_DATA_DIR": str(tmp_path_factory.mktemp("lambda-tmp")),
            "MLOPS_AUTH_ISSUER": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_test",
            "MLOPS_AUTH_AUDIENCE": "ocr-tests",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
            "POWERTOOLS_SERVICE_NAME": "ocr",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }.items():
            env.setenv(name, value)
        fresh_runtime()
        yield
    fresh_runtime()


def fresh_runtime() -> None:
    """A new execution environment: settings and the built runtime are read again."""
    get_settings.cache_clear()
    ocr.runtime.cache_clear()


def handled(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The statuses of the "document handled" lines logged so far (powertools lets
    its records reach pytest's handler)."""
    return [r.status for r in caplog.records if r.getMessage() == "document handled"]


def rendered_invoice() -> bytes:
    from app.synth.documents import make_document
    from app.synth.render import encode, render_pages

    doc = make_document("invoice", "en", 424242)
    return encode(render_pages(doc, dpi=150, degrade="none"), "png")


@pytest.fixture(scope="module")
def processed(stack: Stack, lambda_env: None) -> tuple[DocumentRecord, dict, dict]:
    """One real upload, through the handler once: (pending record, event, response)."""
    record, event = stack.upload(rendered_invoice())
    return record, event, ocr.handler(event, LambdaContext())


def test_the_s3_test_event_is_ignored(stack, lambda_env, caplog):
    # GIVEN the s3:TestEvent S3 sent to the queue when the notification was configured
    assert json.loads(stack.configured[0]["Body"])["Event"] == "s3:TestEvent"
    # WHEN the function receives it THEN nothing fails and nothing is processed
    event = stack.lambda_event(stack.configured)
    assert ocr.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert handled(caplog) == []


def test_an_upload_ends_done_with_a_prediction(stack, processed):
    pending, event, response = processed
    assert pending.status is DocumentStatus.PENDING
    key = json.loads(event["Records"][0]["body"])["Records"][0]["s3"]["object"]["key"]
    assert unquote_plus(key) == f"uploads/{pending.id}"  # sent form-encoded
    assert response == {"batchItemFailures": []}
    done = stack.records.get(pending.id)
    assert done.status is DocumentStatus.DONE, done.error
    assert done.prediction is not None and done.prediction.label == "invoice"
    assert done.attempts == 1


def test_the_same_event_twice_is_processed_once(stack, processed, caplog, monkeypatch):
    pending, event, _response = processed
    before = stack.records.get(pending.id)
    runs: list[object] = []
    monkeypatch.setattr(DocumentPipeline, "handle", lambda _self, upload: runs.append(upload))
    assert ocr.handler(event, LambdaContext()) == {"batchItemFailures": []}
    # The answer comes from the event ledger's record, not from a second run of the
    # pipeline: the delivery the first one finished is a duplicate.
    assert (handled(caplog), runs) == (["duplicate"], [])
    assert stack.records.get(pending.id) == before
    item = stack.ledger_item(event)
    assert item is not None and item["status"]["S"] == "done"
    assert EXPIRATION in item  # the table's TTL forgets it


def test_a_poison_object_ends_failed_without_a_retry(stack, lambda_env):
    record, event = stack.upload(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    assert ocr.handler(event, LambdaContext()) == {"batchItemFailures": []}
    failed = stack.records.get(record.id)
    assert failed.status is DocumentStatus.FAILED
    assert failed.error


def test_a_key_outside_uploads_is_skipped(lambda_env, caplog):
    # A recorded AWS notification: its form-encoded key decodes to "uploads/9f2c 1e(2).png",
    # which the API never writes.
    event = json.loads((EVENTS / "sqs_s3_object_created.json").read_text())
    assert ocr.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert handled(caplog) == []


def test_without_a_champion_the_message_is_retried_and_the_record_stays_pending(
    stack, lambda_env, monkeypatch
):
    monkeypatch.setenv("MLOPS_MODEL_ALIAS", "no-such-alias")
    fresh_runtime()
    try:
        record, event = stack.upload(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
        response = ocr.handler(event, LambdaContext())
        assert response == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]
        }
        still = stack.records.get(record.id)
        assert (still.status, still.attempts) == (DocumentStatus.PENDING, 0)
        assert stack.ledger_item(event) is None  # released: the redelivery may begin
    finally:
        monkeypatch.delenv("MLOPS_MODEL_ALIAS")
        fresh_runtime()
    # SQS delivers the message again; with a champion it is processed (a poison: failed).
    assert ocr.handler(event, LambdaContext()) == {"batchItemFailures": []}
    after = stack.records.get(record.id)
    assert (after.status, after.attempts) == (DocumentStatus.FAILED, 1)


def test_a_delivery_while_another_holds_the_upload_is_retried(stack, lambda_env):
    record, event = stack.upload(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    # Another Lambda is processing this upload (its ledger marker, its lease running).
    [upload] = ocr.uploads_in(json.loads(event["Records"][0]["body"]))
    holder = DynamoEventLedger(TABLE, client=stack.dynamodb)
    assert holder.begin(upload.idempotency_key, lease_seconds=300, ttl_seconds=3600)
    response = ocr.handler(event, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert stack.records.get(record.id).status is DocumentStatus.PENDING
    holder.release(upload.idempotency_key)  # the other Lambda gave up: the retry processes it
    assert ocr.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert stack.records.get(record.id).status is DocumentStatus.FAILED
