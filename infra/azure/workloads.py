"""What every workload is told: its settings, plain or by Key Vault reference.

A workload's environment is a mapping ``name -> value`` where a value is either a plain
input or a :class:`~infra.azure.secrets.SecretRef`. Container Apps (the app, MLflow, the
training job) turn a reference into a Key Vault secret of the app read with the
workload's identity; the Function App into an ``@Microsoft.KeyVault(...)`` setting.

Example::

    env = {"MLOPS_CLOUD": "azure", "MLOPS_MLFLOW_TRACKING_URI": vault_ref}
    variables, secrets = container_env(env, identity_id=app_identity.id)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

import pulumi
from pulumi_azure_native import app as containerapps
from pulumi_azure_native import web

from infra.azure.secrets import SecretRef

Setting = Union[pulumi.Input[str], SecretRef]  # noqa: UP007 (pulumi.Input is a Union alias)
Environment = Mapping[str, Setting]


def container_env(
    env: Environment, *, identity_id: pulumi.Input[str]
) -> tuple[list[containerapps.EnvironmentVarArgs], list[containerapps.SecretArgs]]:
    """Container App ``env`` entries and the Key Vault ``secrets`` they reference."""
    variables: list[containerapps.EnvironmentVarArgs] = []
    secrets: dict[str, containerapps.SecretArgs] = {}
    for key, value in env.items():
        if isinstance(value, SecretRef):
            secrets[value.name] = containerapps.SecretArgs(
                name=value.name, key_vault_url=value.uri, identity=identity_id
            )
            variables.append(containerapps.EnvironmentVarArgs(name=key, secret_ref=value.name))
        else:
            variables.append(containerapps.EnvironmentVarArgs(name=key, value=value))
    return variables, list(secrets.values())


def user_identity(identity_id: pulumi.Input[str]) -> containerapps.ManagedServiceIdentityArgs:
    """A Container App or Job running as one user-assigned identity."""
    return containerapps.ManagedServiceIdentityArgs(
        type=containerapps.ManagedServiceIdentityType.USER_ASSIGNED,
        user_assigned_identities=[identity_id],
    )


def registry_pull(
    server: pulumi.Input[str], identity_id: pulumi.Input[str]
) -> containerapps.RegistryCredentialsArgs:
    """Pull from ACR with the identity (AcrPull), no password."""
    return containerapps.RegistryCredentialsArgs(server=server, identity=identity_id)


def waits_for(env: Environment, *more: pulumi.Resource | None) -> list[pulumi.Resource]:
    """What a workload must be created after: the reads of its referenced secrets, and
    ``more`` (its AcrPull grant): Azure pulls the image and fetches the secrets as it
    creates the app, and fails the deployment when it may not."""
    found = [g for value in env.values() if isinstance(value, SecretRef) for g in value.grants]
    return found + [resource for resource in more if resource is not None]


def app_settings(env: Environment) -> list[web.NameValuePairArgs]:
    """Function App settings; references resolve with the app's keyVaultReferenceIdentity."""
    settings: list[web.NameValuePairArgs] = []
    for key, value in env.items():
        if isinstance(value, SecretRef):
            value = pulumi.Output.concat("@Microsoft.KeyVault(SecretUri=", value.uri, ")")
        settings.append(web.NameValuePairArgs(name=key, value=value))
    return settings
