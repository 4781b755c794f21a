"""Cosmos DB: serverless, no keys, containers on /pk, data-plane roles for the workloads."""

from __future__ import annotations

from infra.azure.records import DATA_CONTRIBUTOR
from tests.infra.azure.stacks import default_stack, external_stack, of, one


def test_the_account_is_serverless_and_keyless() -> None:
    account = one(default_stack(), "cosmosdb:DatabaseAccount").inputs
    assert account["capabilities"] == [{"name": "EnableServerless"}]
    assert account["disableLocalAuth"] is True
    assert account["disableKeyBasedMetadataWriteAccess"] is True
    assert account["minimalTlsVersion"] == "Tls12"


def test_the_containers_share_one_partition_key_and_expire_what_the_app_says() -> None:
    containers = {
        c.inputs["containerName"]: c.inputs
        for c in of(default_stack(), "cosmosdb:SqlResourceSqlContainer")
    }
    assert set(containers) == {"records", "feedback", "jobs", "idempotency"}
    for name, inputs in containers.items():
        assert inputs["resource"]["partitionKey"]["paths"] == ["/pk"], name
        assert inputs["databaseName"] == "mlops"
    assert containers["idempotency"]["resource"]["defaultTtl"] == 86400
    # TTL on with no default: finished documents and predictions carry their own ttl
    # (MLOPS_RETENTION_DAYS); pending records, labels and jobs carry none and stay.
    assert containers["records"]["resource"]["defaultTtl"] == -1
    assert containers["feedback"]["resource"]["defaultTtl"] == -1
    assert "defaultTtl" not in containers["jobs"]["resource"]


def test_each_client_workload_gets_the_data_contributor_role_on_the_database() -> None:
    for stack in (default_stack(), external_stack()):
        account = one(stack, "cosmosdb:DatabaseAccount")
        assignments = of(stack, "cosmosdb:SqlResourceSqlRoleAssignment")
        assert {a.inputs["principalId"] for a in assignments} == {
            "principal-base-app-id",
            "principal-base-ocr-id",
            "principal-base-training-id",
        }
        for a in assignments:
            assert (
                a.inputs["roleDefinitionId"]
                == f"{account.id}/sqlRoleDefinitions/{DATA_CONTRIBUTOR}"
            )
            assert a.inputs["scope"] == f"{account.id}/dbs/mlops"
