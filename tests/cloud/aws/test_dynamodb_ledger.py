"""What the DynamoDB event ledger writes, beyond the shared suite
(tests/ports/test_event_ledger.py): its items live in the records table, beside the
documents, and the table's TTL attribute deletes them."""

from __future__ import annotations

import time

import pytest

from app.adapters.aws.dynamodb import EXPIRATION, TABLE_SCHEMA, DynamoEventLedger
from tests.cloud.aws.conftest import MotoServer

TABLE = "ledger-records"
KEY = "ocr-uploads/uploads/8f0c@9b2cf5"


@pytest.fixture(scope="module")
def dynamodb(moto_server: MotoServer):
    client = moto_server.client("dynamodb")
    client.create_table(TableName=TABLE, **TABLE_SCHEMA)
    return client


def marker(dynamodb) -> dict | None:
    key = {"pk": {"S": f"EVENT#{KEY}"}, "sk": {"S": "EVENT"}}
    return dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")


def test_a_marker_is_one_item_that_the_table_ttl_deletes(dynamodb):
    ledger = DynamoEventLedger(TABLE, client=dynamodb)
    assert ledger.begin(KEY, lease_seconds=900, ttl_seconds=3600)
    began = marker(dynamodb)
    assert (began["key"]["S"], began["status"]["S"]) == (KEY, "in_progress")
    assert began["holder"]["S"]  # whose release may delete it
    assert float(began["lease_until"]["N"]) == pytest.approx(time.time() + 900, abs=30)
    ledger.finish(KEY)
    done = marker(dynamodb)
    assert done["status"]["S"] == "done" and "holder" not in done
    # The table's TTL reads whole epoch seconds from this attribute (infra/aws/documents.py).
    assert EXPIRATION == "expiration"
    assert int(done[EXPIRATION]["N"]) == pytest.approx(time.time() + 3600, abs=30)


def test_a_release_deletes_the_marker(dynamodb):
    ledger = DynamoEventLedger(TABLE, client=dynamodb)
    key = f"{KEY}-released"
    assert ledger.begin(key, lease_seconds=900, ttl_seconds=3600)
    ledger.release(key)
    item = {"pk": {"S": f"EVENT#{key}"}, "sk": {"S": "EVENT"}}
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=item, ConsistentRead=True)
