"""What every workload is told: its settings, plain or by Key Vault reference.

A workload's environment is a mapping ``name -> value`` where a value is either a plain
input or a :class:`~infra.azure.secrets.SecretRef`. Container Apps (the app, MLflow, the
training job) turn a reference into a Key Vault secret of the app read with the
workload's identity; the Function App into an ``@Microsoft.KeyVault(...)`` setting.

Example::

    env = {"MLOPS_CLOUD": "azure", "MLOPS_MLFLOW_TRACKING_URI": vault_ref}
    run = container_workload(ids["app"], images.login_server, env, depends_on=[pull])
    run.env, run.secrets, run.registries, run.depends_on  # for the ContainerApp / Job
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import pulumi
from pulumi_azure_native import app as containerapps
from pulumi_azure_native import web

from infra.azure.secrets import SecretRef

if TYPE_CHECKING:
    from infra.azure.foundation import Identity

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


@dataclass(frozen=True)
class ContainerWorkload:
    """What a Container App or Job is given to run as its identity with its settings."""

    identity: containerapps.ManagedServiceIdentityArgs
    registries: list[containerapps.RegistryCredentialsArgs]
    secrets: list[containerapps.SecretArgs]
    env: list[containerapps.EnvironmentVarArgs]
    depends_on: list[pulumi.Resource]


def container_workload(
    identity: Identity,
    registry_server: pulumi.Input[str],
    env: Environment,
    depends_on: Sequence[pulumi.Resource] = (),
) -> ContainerWorkload:
    """Run as ``identity`` (told as ``AZURE_CLIENT_ID``): pull the image and read ``env``'s
    Key Vault references with it, after those grants and ``depends_on``."""
    env = {**env, "AZURE_CLIENT_ID": identity.client_id}
    variables, secrets = container_env(env, identity_id=identity.id)
    return ContainerWorkload(
        identity=user_identity(identity.id),
        registries=[registry_pull(registry_server, identity.id)],
        secrets=secrets,
        env=variables,
        depends_on=waits_for(env, *depends_on),
    )


def ingress_fqdn(app: containerapps.ContainerApp) -> pulumi.Output[str]:
    """The Container App's ingress host name ("" while it has none)."""
    return app.configuration.apply(lambda c: (c.ingress.fqdn if c and c.ingress else None) or "")


def app_settings(env: Environment) -> list[web.NameValuePairArgs]:
    """Function App settings; references resolve with the app's keyVaultReferenceIdentity."""
    settings: list[web.NameValuePairArgs] = []
    for key, value in env.items():
        if isinstance(value, SecretRef):
            value = pulumi.Output.concat("@Microsoft.KeyVault(SecretUri=", value.uri, ")")
        settings.append(web.NameValuePairArgs(name=key, value=value))
    return settings
