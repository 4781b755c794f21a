"""Secret Manager secrets, each readable by the workloads that need it and no other.

A secret's value reaches a container by reference (``value_source.secret_key_ref``):
Cloud Run resolves it when an instance starts, so the value is in neither the service
definition nor the Pulumi state of the service (it is in the state of the secret
version, encrypted as a Pulumi secret). ``roles/secretmanager.secretAccessor`` is bound
on each secret, to the members listed for it.

Example::

    secrets = Secrets("config", SecretsArgs(project="p", prefix="mlops-dev", secrets={
        "mlflow-tracking-uri": SecretSpec(value=uri, readers=[app_member, ocr_member]),
    }))
    env = {"MLOPS_MLFLOW_TRACKING_URI": secrets.ref("mlflow-tracking-uri")}
    container_envs(env)  # [{"name": ..., "value_source": {"secret_key_ref": {...}}}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import cloudrunv2, secretmanager

from infra.gcp.foundation import child_opts, short_id

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"


@dataclass(frozen=True)
class SecretRef:
    """An environment value read from a Secret Manager secret (its id or full name)."""

    secret: pulumi.Input[str]
    version: str = "latest"


EnvValue = pulumi.Input[str] | SecretRef


def container_envs(
    environment: Mapping[str, EnvValue],
) -> list[cloudrunv2.ServiceTemplateContainerEnvArgsDict]:
    """Cloud Run ``envs`` (service or job containers: the two types have one shape), sorted
    by name; secrets by reference."""
    envs: list[cloudrunv2.ServiceTemplateContainerEnvArgsDict] = []
    for name, value in sorted(environment.items()):
        if isinstance(value, SecretRef):
            ref: cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgsDict = {
                "secret": value.secret,
                "version": value.version,
            }
            envs.append({"name": name, "value_source": {"secret_key_ref": ref}})
        else:
            envs.append({"name": name, "value": value})
    return envs


@dataclass
class SecretSpec:
    value: pulumi.Input[str]
    # IAM members (``serviceAccount:...``) that may read it.
    readers: Sequence[pulumi.Input[str]] = ()


@dataclass
class SecretsArgs:
    project: str
    # Stack-unique prefix of the secret ids (project-wide names).
    prefix: str
    secrets: dict[str, SecretSpec] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


class Secrets(pulumi.ComponentResource):
    secret_ids: dict[str, pulumi.Output[str]]
    # Versions and bindings: a service that reads a secret at start waits for them.
    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Secrets", name, None, opts)
        child = child_opts(self, opts)
        self.secret_ids = {}
        self.ready = []
        for key, spec in args.secrets.items():
            secret = secretmanager.Secret(
                f"{name}-{key}",
                project=args.project,
                secret_id=short_id(args.prefix, key, limit=255),
                replication={"auto": {}},
                labels=args.labels,
                opts=child,
            )
            version = secretmanager.SecretVersion(
                f"{name}-{key}",
                secret=secret.id,
                secret_data=pulumi.Output.secret(spec.value),
                opts=child,
            )
            self.ready.append(version)
            for index, member in enumerate(spec.readers):
                binding = secretmanager.SecretIamMember(
                    f"{name}-{key}-reader-{index}",
                    project=args.project,
                    secret_id=secret.secret_id,
                    role=ACCESSOR_ROLE,
                    member=member,
                    opts=child,
                )
                self.ready.append(binding)
            self.secret_ids[key] = secret.secret_id
        self.register_outputs({"secret_ids": self.secret_ids})

    def ref(self, key: str) -> SecretRef:
        """The latest version of one secret, as an environment value."""
        return SecretRef(secret=self.secret_ids[key])
