"""The stack's storage accounts, on one locked-down baseline.

HTTPS and TLS 1.2 only, no anonymous blob access, no account keys (Entra ID only, the
portal included), no replication to other tenants. The documents account and the OCR
Function's host account both start from it.

Example::

    account = storage_account("documents-account", name_prefix="mlopsdocs",
        suffix=base.suffix, resource_group_name=rg, location=loc, sku="Standard_LRS",
        tags=tags, opts=child, access_tier=storage.AccessTier.HOT)
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import storage


def storage_account(
    resource_name: str,
    *,
    name_prefix: str,
    suffix: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    sku: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    **extra: Any,
) -> storage.StorageAccount:
    """A StorageV2 account named ``<name_prefix><suffix>``; ``extra``: more of its inputs."""
    return storage.StorageAccount(
        resource_name,
        # 3-24 lowercase letters and digits, unique in Azure.
        account_name=pulumi.Output.concat(name_prefix, suffix),
        resource_group_name=resource_group_name,
        location=location,
        kind="StorageV2",
        sku={"name": sku},
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        tags=tags,
        opts=opts,
        **extra,
    )
