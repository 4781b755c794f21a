"""The DynamoDB table of document records and feedback, as the infrastructure creates it
(infra/aws/documents.py) and the AWS adapter uses it (app/adapters/aws/dynamodb.py);
tests create it from this too.

Items (``pk`` / ``sk``) and the three indexes ``by_owner``, ``by_status`` and
``by_version`` are described in app/adapters/aws/dynamodb.py.

Example::

    client.create_table(TableName="records", **TABLE_SCHEMA)
"""

from __future__ import annotations

from typing import Any

TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")
    ],
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
                {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for index, prefix in (("by_owner", "gsi1"), ("by_status", "gsi2"), ("by_version", "gsi3"))
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
