"""Azure RBAC: the built-in roles the stack grants, and one helper that grants them.

Every assignment names a resource as its scope (a registry, a blob container, a secret,
a workspace, a job); nothing is granted on a subscription or a resource group.
:func:`assign_role` refuses such scopes when they are known at deployment time.

Example::

    assign_role("app-acr-pull", role=ACR_PULL, scope=registry.id,
                principal_id=identity.principal_id, subscription_id=sub, opts=child)
"""

from __future__ import annotations

import re

import pulumi
from pulumi_azure_native import authorization

# Built-in role definition GUIDs (the same in every tenant).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
# Only generateUserDelegationKey, which Azure checks at the account: it signs nothing by
# itself, a SAS is further bounded by the identity's data roles on the container.
STORAGE_BLOB_DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
LOG_ANALYTICS_READER = "73c42c96-874c-492b-b04d-ab87d138a893"

ROLE_NAMES = {
    ACR_PULL: "AcrPull",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    STORAGE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    STORAGE_BLOB_DELEGATOR: "Storage Blob Delegator",
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    LOG_ANALYTICS_READER: "Log Analytics Reader",
}

_BROAD_SCOPE = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?$", re.IGNORECASE)


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The full id of built-in ``role`` in the subscription."""
    return pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/providers/Microsoft.Authorization/roleDefinitions/",
        role,
    )


def resource_scope(scope: str) -> str:
    """``scope`` itself, or ValueError when it is a whole subscription or resource group."""
    if _BROAD_SCOPE.match(scope):
        raise ValueError(f"role assignment scope {scope} is not a resource; grant on the resource")
    return scope


def assign_role(
    name: str,
    *,
    role: str,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    definition_id: pulumi.Input[str] | None = None,
) -> authorization.RoleAssignment:
    """Grant ``role`` (a built-in GUID, or ``definition_id`` for a custom role) on a resource."""
    return authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        # Without it Azure looks the principal up in Entra ID, which may not have seen a
        # freshly created identity yet.
        principal_type="ServicePrincipal",
        role_definition_id=definition_id or role_definition_id(subscription_id, role),
        scope=pulumi.Output.from_input(scope).apply(resource_scope),
        description=ROLE_NAMES.get(role, "custom role"),
        opts=opts,
    )
