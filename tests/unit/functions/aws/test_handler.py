"""The OCR Lambda's translation of recorded AWS notifications (no cloud, no model)."""

import json
from pathlib import Path

from app.domain.documents import DocumentUploaded
from functions.aws.handler import uploads_in

EVENTS = Path(__file__).parents[3] / "events" / "aws"


def bodies(name: str) -> list[dict]:
    event = json.loads((EVENTS / name).read_text())
    return [json.loads(record["body"]) for record in event["Records"]]


def test_an_object_created_notification_becomes_a_document_uploaded_with_its_key_decoded():
    [body] = bodies("sqs_s3_object_created.json")
    assert list(uploads_in(body)) == [
        DocumentUploaded(
            bucket="mlops-uploads-7f3a9c",
            key="uploads/9f2c 1e(2).png",
            version="8d1e5f0b2b1c4b7e9a6f3c2d1e0f9a8b",
            size=48213,
        )
    ]


def test_the_test_event_s3_sends_on_configuration_names_no_upload():
    [body] = bodies("sqs_s3_test_event.json")
    assert body["Event"] == "s3:TestEvent"
    assert list(uploads_in(body)) == []


def test_a_removal_is_not_an_upload():
    [body] = bodies("sqs_s3_object_created.json")
    body["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert list(uploads_in(body)) == []
