"""ECR repositories for the app and OCR images, and the images themselves.

An image given by config (CI built it) is used as is and nothing is built. Otherwise
the repo's Dockerfile is built with pulumi-docker-build and pushed under a tag derived
from the build inputs' content: the repositories refuse to overwrite a tag, so a
changed input must mean a new tag. Deployments then reference the pushed digest.

Example::

    images = Registry("images", RegistryArgs(app_image=None, ocr_image=None))
    images.app_image  # <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:...
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker_build as docker_build
from pulumi_aws import ecr

from infra.images import BUILD_INPUTS, REPO_ROOT, content_tag

UNTAGGED_EXPIRY_DAYS = 7
IMAGES_KEPT = 30


def lifecycle_policy(untagged_days: int = UNTAGGED_EXPIRY_DAYS, kept: int = IMAGES_KEPT) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Drop untagged layers after {untagged_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the {kept} most recent images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": kept,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


@dataclass
class RegistryArgs:
    # Image URIs built elsewhere (CI); None builds docker/<role>.Dockerfile here.
    app_image: str | None = None
    ocr_image: str | None = None
    build_inputs: Sequence[str] = BUILD_INPUTS
    platform: str = "linux/amd64"
    # Let `pulumi destroy` delete repositories that still hold images (throwaway stacks).
    force_delete: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class Registry(pulumi.ComponentResource):
    app_repository_url: pulumi.Output[str]
    ocr_repository_url: pulumi.Output[str]
    app_image: pulumi.Output[str]
    ocr_image: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:Registry", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        # Hashing the inputs once serves both images; nothing is hashed when CI built them.
        self._tag = (
            content_tag(args.build_inputs)
            if args.app_image is None or args.ocr_image is None
            else None
        )

        app_repo = self._build_repository("app")
        ocr_repo = self._build_repository("ocr")
        self.app_repository_url = app_repo.repository_url
        self.ocr_repository_url = ocr_repo.repository_url
        self.app_image = self._build_image("app", app_repo, args.app_image)
        self.ocr_image = self._build_image("ocr", ocr_repo, args.ocr_image)
        self.register_outputs(
            {
                "app_repository_url": self.app_repository_url,
                "ocr_repository_url": self.ocr_repository_url,
                "app_image": self.app_image,
                "ocr_image": self.ocr_image,
            }
        )

    def _build_repository(self, role: str) -> ecr.Repository:
        repo = ecr.Repository(
            f"{self._name}-{role}",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=self._args.force_delete,
            tags=self._args.tags,
            opts=self._child,
        )
        ecr.LifecyclePolicy(
            f"{self._name}-{role}",
            repository=repo.name,
            policy=lifecycle_policy(),
            opts=self._child,
        )
        return repo

    def _build_image(
        self, role: str, repo: ecr.Repository, given: str | None
    ) -> pulumi.Output[str]:
        if given is not None:
            return pulumi.Output.from_input(given)
        auth = ecr.get_authorization_token_output(
            registry_id=repo.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        tag = self._tag
        image = docker_build.Image(
            f"{self._name}-{role}-image",
            # Relative paths keep the inputs identical on every machine that runs the program.
            context=docker_build.BuildContextArgs(location=os.path.relpath(REPO_ROOT)),
            dockerfile=docker_build.DockerfileArgs(
                location=os.path.relpath(REPO_ROOT / "docker" / f"{role}.Dockerfile")
            ),
            platforms=[docker_build.Platform(self._args.platform)],
            tags=[repo.repository_url.apply(lambda url: f"{url}:{tag}")],
            push=True,
            registries=[
                docker_build.RegistryArgs(
                    address=repo.repository_url.apply(lambda url: url.split("/")[0]),
                    username=auth.user_name,
                    password=auth.password,
                )
            ],
            build_on_preview=False,
            opts=self._child,
        )
        return pulumi.Output.concat(repo.repository_url, "@", image.digest)
