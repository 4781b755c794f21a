"""Documents: the storage account (uploads, artifacts, dead letters) and its upload events.

``Documents`` is the account and its containers:

- HTTPS only, TLS 1.2, no public blob access, and shared-key access OFF: every client
  signs in with Entra ID (workloads with their managed identity, browsers with a
  user-delegation SAS the app signs). Nothing in this stack needs an account key: the
  OCR Function's host storage is identity-based (ocr_function.py) and runs no Azure
  Files content share, Event Grid dead-letters with its own identity, MLflow writes
  ``wasbs://`` artifacts through DefaultAzureCredential. Only Azurite (tests) uses a key.
- ``uploads`` (presigned PUTs from browsers, deleted after ``upload_expiration_days``),
  ``artifacts`` (MLflow: ``wasbs://artifacts@<account>.blob.core.windows.net/mlflow``),
  ``deadletter`` (events Event Grid could not deliver).
- Storage Blob Data roles per workload on the containers it uses (``BLOB_GRANTS``), and
  Storage Blob Delegator on the account for the app, which signs upload SAS URLs (Azure
  checks that one action at the account; the SAS itself is bounded by the container
  role).

``UploadEvents`` is the Event Grid system topic on the account and its subscription:
``Microsoft.Storage.BlobCreated`` under ``uploads/uploads/`` to the OCR Function's
``on_blob_created``, with retries and a dead letter in ``deadletter`` written with the
topic's own (system-assigned) identity.

Example::

    docs = Documents("documents", DocumentsArgs(resource_group_name=rg, location=loc,
        suffix=base.suffix, subscription_id=sub,
        principals={w: i.principal_id for w, i in base.identities.items()}))
    UploadEvents("uploads", UploadEventsArgs(..., function_app_id=ocr.function_app_id))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import eventgrid, storage

from infra.azure.roles import (
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    STORAGE_BLOB_DELEGATOR,
    assign_role,
)
from infra.azure.storage_accounts import storage_account

UPLOADS = "uploads"
ARTIFACTS = "artifacts"
DEADLETTER = "deadletter"
CONTAINERS = (UPLOADS, ARTIFACTS, DEADLETTER)
# The app writes documents under uploads/ in the uploads container (the UploadWorker
# skips any other key); only those start the OCR.
UPLOAD_PREFIX = "uploads/"
UPLOADS_SUBJECT = f"/blobServices/default/containers/{UPLOADS}/blobs/{UPLOAD_PREFIX}"
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
OCR_FUNCTION = "on_blob_created"
MLFLOW_PREFIX = "mlflow"
# Workload -> container -> role. MLflow only lists and reads (its UI's artifact browser);
# runs write artifacts from the clients (training, the app when promoting).
BLOB_GRANTS: dict[str, dict[str, str]] = {
    "app": {UPLOADS: STORAGE_BLOB_DATA_CONTRIBUTOR, ARTIFACTS: STORAGE_BLOB_DATA_CONTRIBUTOR},
    "ocr": {UPLOADS: STORAGE_BLOB_DATA_CONTRIBUTOR, ARTIFACTS: STORAGE_BLOB_DATA_READER},
    "training": {ARTIFACTS: STORAGE_BLOB_DATA_CONTRIBUTOR},
    "mlflow": {ARTIFACTS: STORAGE_BLOB_DATA_READER},
}
SAS_SIGNERS = ("app",)


def artifact_root(account_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """MLflow's artifact root in the artifacts container."""
    return pulumi.Output.concat(
        f"wasbs://{ARTIFACTS}@", account_name, f".blob.core.windows.net/{MLFLOW_PREFIX}"
    )


@dataclass
class DocumentsArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    suffix: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    # Workload -> principal id; each gets BLOB_GRANTS[workload] (workloads not there: none).
    principals: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Browser origins allowed to PUT uploads; empty: any origin (SAS URLs are signed).
    cors_origins: Sequence[str] = ()
    upload_expiration_days: int = 30
    sku: str = "Standard_LRS"
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.upload_expiration_days <= 3650:
            raise ValueError("upload_expiration_days must be from 1 to 3650")


class Documents(pulumi.ComponentResource):
    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    blob_endpoint: pulumi.Output[str]
    container_ids: dict[str, pulumi.Output[str]]
    artifact_root: pulumi.Output[str]

    def __init__(
        self, name: str, args: DocumentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:Documents", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        account = storage_account(
            f"{name}-account",
            name_prefix="mlopsdocs",
            suffix=args.suffix,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=args.sku,
            tags=args.tags,
            opts=self._child,
            access_tier=storage.AccessTier.HOT,
        )
        self.account_id = account.id
        self.account_name = account.name
        self.blob_endpoint = pulumi.Output.concat(
            "https://", account.name, ".blob.core.windows.net"
        )
        self.artifact_root = artifact_root(account.name)
        self._build_blob_service(account)
        self.container_ids = {}
        for container in CONTAINERS:
            self.container_ids[container] = storage.BlobContainer(
                f"{name}-{container}",
                container_name=container,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                public_access=storage.PublicAccess.NONE,
                opts=self._child,
            ).id
        self._build_lifecycle(account)
        self._grant(account)
        self.register_outputs(
            {
                "account_name": self.account_name,
                "blob_endpoint": self.blob_endpoint,
                "container_ids": self.container_ids,
            }
        )

    def _build_blob_service(self, account: storage.StorageAccount) -> None:
        origins = list(self._args.cors_origins) or ["*"]
        storage.BlobServiceProperties(
            f"{self._name}-blob-service",
            account_name=account.name,
            resource_group_name=self._args.resource_group_name,
            blob_services_name="default",
            cors={
                "cors_rules": [
                    {
                        "allowed_origins": origins,
                        "allowed_methods": ["PUT", "OPTIONS"],
                        "allowed_headers": ["content-type", "x-ms-blob-type", "x-ms-version"],
                        "exposed_headers": ["etag"],
                        "max_age_in_seconds": 3600,
                    }
                ]
            },
            delete_retention_policy={"enabled": True, "days": 7},
            container_delete_retention_policy={"enabled": True, "days": 7},
            opts=self._child,
        )

    def _build_lifecycle(self, account: storage.StorageAccount) -> None:
        days = self._args.upload_expiration_days
        rules = [
            storage.ManagementPolicyRuleArgs(
                name=f"expire-{container}",
                enabled=True,
                type=storage.RuleType.LIFECYCLE,
                definition=storage.ManagementPolicyDefinitionArgs(
                    filters=storage.ManagementPolicyFilterArgs(
                        blob_types=["blockBlob"], prefix_match=[f"{container}/"]
                    ),
                    actions=storage.ManagementPolicyActionArgs(
                        base_blob=storage.ManagementPolicyBaseBlobArgs(
                            delete=storage.DateAfterModificationArgs(
                                days_after_modification_greater_than=days
                            )
                        )
                    ),
                ),
            )
            for container in (UPLOADS, DEADLETTER)
        ]
        storage.ManagementPolicy(
            f"{self._name}-lifecycle",
            account_name=account.name,
            resource_group_name=self._args.resource_group_name,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(rules=rules),
            opts=self._child,
        )

    def _grant(self, account: storage.StorageAccount) -> None:
        args = self._args
        for workload, principal in args.principals.items():
            for container, role in BLOB_GRANTS.get(workload, {}).items():
                assign_role(
                    f"{self._name}-{workload}-{container}-blob",
                    role=role,
                    scope=self.container_ids[container],
                    principal_id=principal,
                    subscription_id=args.subscription_id,
                    opts=self._child,
                )
            if workload in SAS_SIGNERS:
                assign_role(
                    f"{self._name}-{workload}-delegator",
                    role=STORAGE_BLOB_DELEGATOR,
                    scope=account.id,
                    principal_id=principal,
                    subscription_id=args.subscription_id,
                    opts=self._child,
                )


@dataclass
class UploadEventsArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    account_id: pulumi.Input[str]
    deadletter_container_id: pulumi.Input[str]
    function_app_id: pulumi.Input[str]
    function_name: str = OCR_FUNCTION
    max_delivery_attempts: int = 10
    event_ttl_minutes: int = 1440
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.max_delivery_attempts <= 30:
            raise ValueError("max_delivery_attempts must be from 1 to 30")
        if not 1 <= self.event_ttl_minutes <= 1440:
            raise ValueError("event_ttl_minutes must be from 1 to 1440")


class UploadEvents(pulumi.ComponentResource):
    topic_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: UploadEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:UploadEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = eventgrid.SystemTopic(
            f"{name}-topic",
            resource_group_name=args.resource_group_name,
            location=args.location,
            source=args.account_id,
            topic_type="Microsoft.Storage.StorageAccounts",
            identity={"type": "SystemAssigned"},
            tags=args.tags,
            opts=child,
        )
        writer = assign_role(
            f"{name}-deadletter-writer",
            role=STORAGE_BLOB_DATA_CONTRIBUTOR,
            scope=args.deadletter_container_id,
            principal_id=topic.identity.apply(lambda i: (i.principal_id if i else None) or ""),
            subscription_id=args.subscription_id,
            opts=child,
        )
        subscription = eventgrid.SystemTopicEventSubscription(
            f"{name}-to-ocr",
            resource_group_name=args.resource_group_name,
            system_topic_name=topic.name,
            event_delivery_schema="EventGridSchema",
            destination=eventgrid.AzureFunctionEventSubscriptionDestinationArgs(
                endpoint_type="AzureFunction",
                resource_id=pulumi.Output.concat(
                    args.function_app_id, f"/functions/{args.function_name}"
                ),
                # One blob per invocation: an OCR run is long, a batch would share a timeout.
                max_events_per_batch=1,
                preferred_batch_size_in_kilobytes=64,
            ),
            filter=eventgrid.EventSubscriptionFilterArgs(
                included_event_types=[BLOB_CREATED],
                subject_begins_with=UPLOADS_SUBJECT,
                is_subject_case_sensitive=True,
            ),
            retry_policy=eventgrid.RetryPolicyArgs(
                max_delivery_attempts=args.max_delivery_attempts,
                event_time_to_live_in_minutes=args.event_ttl_minutes,
            ),
            dead_letter_with_resource_identity=eventgrid.DeadLetterWithResourceIdentityArgs(
                identity=eventgrid.EventSubscriptionIdentityArgs(type="SystemAssigned"),
                dead_letter_destination=eventgrid.StorageBlobDeadLetterDestinationArgs(
                    endpoint_type="StorageBlob",
                    resource_id=args.account_id,
                    blob_container_name=DEADLETTER,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[writer]),
        )
        self.topic_id = topic.id
        self.subscription_id = subscription.id
        self.register_outputs({"topic_id": self.topic_id, "subscription_id": self.subscription_id})
