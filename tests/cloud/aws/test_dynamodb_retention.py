"""Retention on DynamoDB: finished documents and served predictions carry the table's TTL
attribute (MLOPS_RETENTION_DAYS from now), so the table deletes them; pending work and
labels do not."""

from __future__ import annotations

import time

import pytest

from app.adapters.aws.dynamodb import (
    EXPIRATION,
    TABLE_SCHEMA,
    DynamoDocumentRecords,
    DynamoFeedbackStore,
)
from app.domain.documents import DocumentPrediction
from tests.cloud.aws.conftest import MotoServer
from tests.ports.samples import feedback, new, prediction

TABLE = "retention-records"
KEEP = 30 * 86_400
PREDICTED = DocumentPrediction(
    label="receipt",
    confidence=0.9,
    probabilities={"receipt": 0.9},
    model_name="m",
    model_version="1",
)


@pytest.fixture(scope="module")
def dynamodb(moto_server: MotoServer):
    client = moto_server.client("dynamodb")
    client.create_table(TableName=TABLE, **TABLE_SCHEMA)
    return client


def item(dynamodb, pk: str, sk: str) -> dict:
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]


def test_finished_documents_and_predictions_expire_and_the_rest_stays(dynamodb):
    records = DynamoDocumentRecords(TABLE, client=dynamodb, retention_seconds=KEEP)
    store = DynamoFeedbackStore(TABLE, client=dynamodb, retention_seconds=KEEP)
    for doc in ("r-done", "r-failed", "r-pending"):
        records.create(new(doc))
    records.complete("r-done", text="Ticket", language="fr", prediction=PREDICTED)
    records.fail("r-failed", reason="unreadable")
    store.record_predictions([prediction("r-p1")])
    store.add(feedback("r-f1", "r-p1", "invoice"))

    for doc in ("r-done", "r-failed"):
        expires = float(item(dynamodb, f"DOC#{doc}", "DOC")[EXPIRATION]["N"])
        assert expires == pytest.approx(time.time() + KEEP, abs=60)
    assert EXPIRATION not in item(dynamodb, "DOC#r-pending", "DOC")
    expires = float(item(dynamodb, "PRED#r-p1", "PRED")[EXPIRATION]["N"])
    assert expires == pytest.approx(time.time() + KEEP, abs=60)
    labels = dynamodb.scan(TableName=TABLE)["Items"]
    assert all(EXPIRATION not in i for i in labels if i["pk"]["S"].startswith("FEEDBACK"))


def test_without_a_retention_nothing_expires(dynamodb):
    records = DynamoDocumentRecords(TABLE, client=dynamodb)
    records.create(new("k-done"))
    records.complete("k-done", text="Ticket", language="fr", prediction=PREDICTED)
    assert EXPIRATION not in item(dynamodb, "DOC#k-done", "DOC")
