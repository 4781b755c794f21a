"""Azure Container Registry for the app and OCR images, and the images themselves.

The admin user stays disabled: workloads pull with their managed identity (AcrPull on
this registry only), never with a password. An image given by config (CI built it) is
used as is; otherwise docker/app.Dockerfile (one image with every cloud's extra and the
MLflow server's) and docker/azure-function.Dockerfile are built with pulumi-docker-build
and pushed under a content tag (infra/images.py), and deployments use the digest.

Pushing needs Docker credentials for the registry in the local Docker config
(``az acr login --name <registry>``): with the admin user off there is no password for
the program to hand to the builder. See docs/deploy/azure.md.

Example::

    images = Registry("images", RegistryArgs(resource_group_name=base.resource_group_name,
        location=base.location, suffix=base.suffix, subscription_id=base.subscription_id,
        pullers={"app": base.identities["app"].principal_id}))
    images.app_image  # <registry>.azurecr.io/mlops-app@sha256:...
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker_build as docker_build
from pulumi_azure_native import containerregistry

from infra.azure.roles import ACR_PULL, assign_role
from infra.images import BUILD_INPUTS, REPO_ROOT, content_tag

APP_DOCKERFILE = "docker/app.Dockerfile"
OCR_DOCKERFILE = "docker/azure-function.Dockerfile"
SKUS = ("Basic", "Standard", "Premium")


@dataclass
class RegistryArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    suffix: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    # Workload -> principal id granted AcrPull.
    pullers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Image references built elsewhere (CI); None builds the Dockerfile here.
    app_image: str | None = None
    ocr_image: str | None = None
    sku: str = "Basic"
    build_inputs: Sequence[str] = BUILD_INPUTS
    platform: str = "linux/amd64"
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sku not in SKUS:
            raise ValueError(f"sku must be one of {', '.join(SKUS)}")


class Registry(pulumi.ComponentResource):
    login_server: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    # Workload -> its AcrPull assignment (a workload is created after it).
    pull_grants: dict[str, pulumi.Resource]
    app_image: pulumi.Output[str]
    ocr_image: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:Registry", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        registry = containerregistry.Registry(
            f"{name}-acr",
            # 5-50 letters and digits, unique in Azure.
            registry_name=pulumi.Output.concat("mlops", args.suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": args.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            tags=args.tags,
            opts=self._child,
        )
        self.login_server = registry.login_server
        self.registry_id = registry.id
        self.pull_grants = {}
        for workload, principal in args.pullers.items():
            self.pull_grants[workload] = assign_role(
                f"{name}-{workload}-acr-pull",
                role=ACR_PULL,
                scope=registry.id,
                principal_id=principal,
                subscription_id=args.subscription_id,
                opts=self._child,
            )
        tag = (
            content_tag(args.build_inputs)
            if args.app_image is None or args.ocr_image is None
            else None
        )
        self.app_image = self._image("app", APP_DOCKERFILE, args.app_image, tag)
        self.ocr_image = self._image("ocr", OCR_DOCKERFILE, args.ocr_image, tag)
        self.register_outputs(
            {
                "login_server": self.login_server,
                "app_image": self.app_image,
                "ocr_image": self.ocr_image,
            }
        )

    def _image(
        self, role: str, dockerfile: str, given: str | None, tag: str | None
    ) -> pulumi.Output[str]:
        if given is not None:
            return pulumi.Output.from_input(given)
        repository = pulumi.Output.concat(self.login_server, f"/mlops-{role}")
        image = docker_build.Image(
            f"{self._name}-{role}-image",
            context=docker_build.BuildContextArgs(location=os.path.relpath(REPO_ROOT)),
            dockerfile=docker_build.DockerfileArgs(
                location=os.path.relpath(REPO_ROOT / dockerfile)
            ),
            platforms=[docker_build.Platform(self._args.platform)],
            tags=[pulumi.Output.concat(repository, f":{tag}")],
            push=True,
            build_on_preview=False,
            opts=self._child,
        )
        return pulumi.Output.concat(repository, "@", image.digest)
