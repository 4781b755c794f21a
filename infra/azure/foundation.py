"""The stack's ground floor: a resource group, Log Analytics with Application Insights on
top, one user-assigned managed identity per workload, and the naming suffix.

Each workload runs as its own identity, so a role granted to one is never granted to
another; the components that own a resource grant the roles on it (see roles.py). Every
workload is told its identity's client id as ``AZURE_CLIENT_ID``, which
``DefaultAzureCredential`` reads.

Names Azure wants globally unique and alphanumeric (storage, registry) take a random
suffix created once per stack.

Example::

    base = Foundation("base", FoundationArgs(log_retention_days=30))
    base.identities["app"].client_id   # the app's AZURE_CLIENT_ID
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    managedidentity,
    operationalinsights,
    resources,
)

WORKLOADS = ("app", "ocr", "training", "mlflow")
SUFFIX_LENGTH = 8


@dataclass
class Identity:
    """A user-assigned identity's ARM id, client id (AZURE_CLIENT_ID) and principal id."""

    id: pulumi.Output[str]
    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]


@dataclass
class FoundationArgs:
    workloads: Sequence[str] = WORKLOADS
    # Log Analytics keeps 30 to 730 days.
    log_retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 30 <= self.log_retention_days <= 730:
            raise ValueError("log_retention_days must be from 30 to 730 (Log Analytics)")


class Foundation(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    location: pulumi.Output[str]
    suffix: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_customer_id: pulumi.Output[str]
    workspace_shared_key: pulumi.Output[str]
    app_insights_connection_string: pulumi.Output[str]
    identities: dict[str, Identity]

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:Foundation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.tenant_id = client.tenant_id
        self.subscription_id = client.subscription_id

        # The location is the provider's (`pulumi config set azure-native:location ...`).
        group = resources.ResourceGroup(f"{name}-rg", tags=args.tags, opts=child)
        self.resource_group_name = group.name
        self.location = group.location
        self.suffix = random.RandomString(
            f"{name}-suffix", length=SUFFIX_LENGTH, special=False, upper=False, opts=child
        ).result

        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=group.name,
            location=group.location,
            sku={"name": "PerGB2018"},
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )
        self.workspace_id = workspace.id
        self.workspace_customer_id = workspace.customer_id
        keys = operationalinsights.get_shared_keys_output(
            resource_group_name=group.name,
            workspace_name=workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # Only the Container Apps environment uses it, to ship container logs.
        self.workspace_shared_key = pulumi.Output.secret(keys.primary_shared_key).apply(
            lambda key: key or ""
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_group_name=group.name,
            location=group.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=workspace.id,
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )
        self.app_insights_connection_string = insights.connection_string

        self.identities = {}
        for workload in args.workloads:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-{workload}-id",
                resource_group_name=group.name,
                location=group.location,
                tags=args.tags,
                opts=child,
            )
            self.identities[workload] = Identity(
                id=identity.id, client_id=identity.client_id, principal_id=identity.principal_id
            )

        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "workspace_id": self.workspace_id,
                "identities": {k: v.id for k, v in self.identities.items()},
            }
        )
