"""Records: a serverless Cosmos DB (NoSQL) account, its database and containers.

Containers (app/adapters/azure/cosmos.py picks each item's ``pk``): ``records``,
``feedback`` (predictions and their feedback), ``jobs`` (training jobs and the start
lock), ``idempotency`` (delivery ledger; items expire after a day unless they set their
own ``ttl``). All are partitioned on ``/pk``.

Local (key) auth is disabled: workloads use Entra ID with the built-in "Cosmos DB Built-in
Data Contributor" data-plane role, assigned on the database only. Containers are managed
through ARM (this program), so key-based metadata writes are refused too.

Example::

    records = Records("records", RecordsArgs(resource_group_name=rg, location=loc,
        principals={"app": base.identities["app"].principal_id}))
    records.endpoint  # https://<account>.documents.azure.com:443/
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import cosmosdb

DATABASE = "mlops"
PARTITION_KEY = "/pk"
IDEMPOTENCY_TTL_SECONDS = 86_400
# Container -> default TTL (None: items never expire; -1: an item expires after its own
# ``ttl``, which the app sets on finished documents and predictions: MLOPS_RETENTION_DAYS).
CONTAINERS: dict[str, int | None] = {
    "records": -1,
    "feedback": -1,
    "jobs": None,
    "idempotency": IDEMPOTENCY_TTL_SECONDS,
}
# Cosmos DB Built-in Data Contributor (a data-plane role of every account).
DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"


@dataclass
class RecordsArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    # Workload -> principal id granted the data contributor role on the database.
    principals: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    database: str = DATABASE
    tags: dict[str, str] = field(default_factory=dict)


class Records(pulumi.ComponentResource):
    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    database: str

    def __init__(
        self, name: str, args: RecordsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:Records", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = cosmosdb.DatabaseAccount(
            f"{name}-cosmos",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="GlobalDocumentDB",
            database_account_offer_type=cosmosdb.DatabaseAccountOfferType.STANDARD,
            capabilities=[cosmosdb.CapabilityArgs(name="EnableServerless")],
            locations=[cosmosdb.LocationArgs(location_name=args.location, failover_priority=0)],
            consistency_policy=cosmosdb.ConsistencyPolicyArgs(
                default_consistency_level=cosmosdb.DefaultConsistencyLevel.SESSION
            ),
            disable_local_auth=True,
            disable_key_based_metadata_write_access=True,
            minimal_tls_version="Tls12",
            tags=args.tags,
            opts=child,
        )
        database = cosmosdb.SqlResourceSqlDatabase(
            f"{name}-db",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            database_name=args.database,
            resource=cosmosdb.SqlDatabaseResourceArgs(id=args.database),
            opts=child,
        )
        for container, ttl in CONTAINERS.items():
            cosmosdb.SqlResourceSqlContainer(
                f"{name}-{container}",
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                database_name=database.name,
                container_name=container,
                resource=cosmosdb.SqlContainerResourceArgs(
                    id=container,
                    partition_key=cosmosdb.ContainerPartitionKeyArgs(
                        paths=[PARTITION_KEY], kind=cosmosdb.PartitionKind.HASH
                    ),
                    default_ttl=ttl,
                ),
                opts=child,
            )
        scope = pulumi.Output.concat(account.id, "/dbs/", args.database)
        for workload, principal in args.principals.items():
            cosmosdb.SqlResourceSqlRoleAssignment(
                f"{name}-{workload}-data",
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                role_definition_id=pulumi.Output.concat(
                    account.id, "/sqlRoleDefinitions/", DATA_CONTRIBUTOR
                ),
                scope=scope,
                principal_id=principal,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[database]),
            )
        self.account_id = account.id
        self.account_name = account.name
        self.endpoint = account.document_endpoint
        self.database = args.database
        self.register_outputs({"endpoint": self.endpoint, "database": self.database})
