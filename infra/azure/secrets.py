"""Key Vault in RBAC mode, and the secrets the workloads read through their identity.

Workloads never see a secret in a plain setting: a Container App names it as a Key Vault
secret reference (``keyVaultUrl`` + identity), the Function App as an
``@Microsoft.KeyVault(SecretUri=...)`` setting. Each reader gets "Key Vault Secrets
User" on that one secret, not on the vault. Secrets are written through ARM by the
deploying principal (Contributor on the resource group is enough; no data-plane role).

Purge protection, once on, cannot be turned off and keeps a deleted vault's name taken
for the retention period: it is a config choice (``keyVaultPurgeProtection``).

Example::

    vault = Secrets("secrets", SecretsArgs(resource_group_name=rg, location=loc,
        suffix=base.suffix, tenant_id=base.tenant_id, subscription_id=sub))
    ref = vault.secret("mlflow-db-password", password, readers={"mlflow": principal})
    ref.uri  # https://mlops-kv-xxxx.vault.azure.net/secrets/mlflow-db-password
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import keyvault

from infra.azure.roles import KEY_VAULT_SECRETS_USER, assign_role


@dataclass(frozen=True)
class SecretRef:
    """A Key Vault secret a workload reads: ``name`` (also its Container App secret name),
    its versionless ``uri`` (new versions are picked up on restart), and the role
    assignments that let the readers read it (a workload waits for them: Azure fetches
    referenced secrets when it creates the app)."""

    name: str
    uri: pulumi.Output[str]
    grants: tuple[pulumi.Resource, ...] = field(default=(), compare=False)


@dataclass
class SecretsArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    suffix: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    purge_protection: bool = True
    soft_delete_days: int = 90
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 7 <= self.soft_delete_days <= 90:
            raise ValueError("soft_delete_days must be from 7 to 90")


class Secrets(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:Secrets", name, None, opts)
        self._name = name
        self._args = args
        vault = keyvault.Vault(
            f"{name}-kv",
            vault_name=pulumi.Output.concat("mlops-kv-", args.suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_days,
                # Azure refuses an explicit false once it was on; leaving it unset is "off".
                enable_purge_protection=True if args.purge_protection else None,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri or "")
        self.register_outputs({"vault_id": self.vault_id, "vault_uri": self.vault_uri})

    def secret(
        self,
        key: str,
        value: pulumi.Input[str],
        *,
        readers: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> SecretRef:
        """Store ``value`` as secret ``key`` and let each reader (workload -> principal id)
        read that secret alone. ``opts`` parents them under the component that asks."""
        child = opts or pulumi.ResourceOptions(parent=self)
        stored = keyvault.Secret(
            f"{self._name}-{key}",
            secret_name=key,
            vault_name=self.vault_name,
            resource_group_name=self._args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value)),
            tags=self._args.tags,
            opts=child,
        )
        grants = []
        for workload, principal in readers.items():
            grant = assign_role(
                f"{self._name}-{key}-{workload}-reader",
                role=KEY_VAULT_SECRETS_USER,
                scope=stored.id,
                principal_id=principal,
                subscription_id=self._args.subscription_id,
                opts=child,
            )
            grants.append(grant)
        uri = pulumi.Output.concat(self.vault_uri.apply(lambda u: u.rstrip("/")), "/secrets/", key)
        return SecretRef(name=key, uri=uri, grants=tuple(grants))
