"""Artifact Registry: one Docker repository for the stack's images, and the images.

An image given by config (CI built it: ``appImage``/``ocrImage``) is used as is.
Otherwise the repo's Dockerfile is built with pulumi-docker-build and pushed under a tag
naming the build inputs' content; the repository's tags are immutable, so a changed
input means a new tag, and services reference the pushed digest.

Cleanup policies keep the repository from growing without bound: untagged manifests
(layers of replaced tags) go after ``untagged_days``, and only the ``kept`` most recent
versions of each image stay.

Example::

    images = Registry("images", RegistryArgs(project="p", region="europe-west1",
                                             repository_id="mlops-dev"))
    images.app_image     # europe-west1-docker.pkg.dev/p/mlops-dev/app@sha256:...
    images.registry_url  # europe-west1-docker.pkg.dev/p/mlops-dev
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker_build as docker_build
from pulumi_gcp import artifactregistry, organizations

from infra.gcp.foundation import child_opts
from infra.images import BUILD_INPUTS, REPO_ROOT, content_tag

UNTAGGED_DAYS = 7
IMAGES_KEPT = 30
APP_DOCKERFILE = "docker/app.Dockerfile"
OCR_DOCKERFILE = "docker/gcp-ocr.Dockerfile"


def cleanup_policies(
    untagged_days: int = UNTAGGED_DAYS, kept: int = IMAGES_KEPT
) -> list[artifactregistry.RepositoryCleanupPolicyArgsDict]:
    """Delete untagged versions after ``untagged_days``; always keep the ``kept`` newest."""
    return [
        {
            "id": "delete-untagged",
            "action": "DELETE",
            "condition": {"tag_state": "UNTAGGED", "older_than": f"{untagged_days * 86400}s"},
        },
        {
            "id": "delete-old-tagged",
            "action": "DELETE",
            "condition": {"tag_state": "TAGGED", "older_than": f"{untagged_days * 86400}s"},
        },
        # KEEP wins over DELETE: the newest versions survive the rule above.
        {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": kept}},
    ]


@dataclass
class RegistryArgs:
    project: str
    region: str
    # Project-wide id of the repository (stack-unique).
    repository_id: str
    # Image references built elsewhere (CI); None builds the Dockerfile here.
    app_image: str | None = None
    ocr_image: str | None = None
    build_inputs: Sequence[str] = BUILD_INPUTS
    platform: str = "linux/amd64"
    labels: dict[str, str] = field(default_factory=dict)


class Registry(pulumi.ComponentResource):
    registry_url: pulumi.Output[str]
    app_image: pulumi.Output[str]
    ocr_image: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Registry", name, None, opts)
        self._name = name
        self._args = args
        self._child = child_opts(self, opts)
        self._tag = (
            content_tag(args.build_inputs)
            if args.app_image is None or args.ocr_image is None
            else None
        )
        repository = artifactregistry.Repository(
            f"{name}-repository",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            description="Images of the mlops-multicloud stack",
            docker_config={"immutable_tags": True},
            cleanup_policies=cleanup_policies(),
            cleanup_policy_dry_run=False,
            labels=args.labels,
            opts=self._child,
        )
        self._host = f"{args.region}-docker.pkg.dev"
        # Derived, not read back: the same string the provider reports as registry_uri.
        self.registry_url = repository.repository_id.apply(
            lambda repo: f"{self._host}/{args.project}/{repo}"
        )
        self.app_image = self._image("app", APP_DOCKERFILE, {}, args.app_image)
        self.ocr_image = self._image("ocr", OCR_DOCKERFILE, {}, args.ocr_image)
        self.register_outputs(
            {
                "registry_url": self.registry_url,
                "app_image": self.app_image,
                "ocr_image": self.ocr_image,
            }
        )

    def _image(
        self, role: str, dockerfile: str, build_args: dict[str, str], given: str | None
    ) -> pulumi.Output[str]:
        if given is not None:
            return pulumi.Output.from_input(given)
        # Docker logs in to Artifact Registry with the deployer's own OAuth access token.
        token = organizations.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).access_token
        tag = self._tag
        image = docker_build.Image(
            f"{self._name}-{role}-image",
            context=docker_build.BuildContextArgs(location=os.path.relpath(REPO_ROOT)),
            dockerfile=docker_build.DockerfileArgs(
                location=os.path.relpath(REPO_ROOT / dockerfile)
            ),
            build_args=build_args or None,
            platforms=[docker_build.Platform(self._args.platform)],
            tags=[self.registry_url.apply(lambda url: f"{url}/{role}:{tag}")],
            push=True,
            registries=[
                docker_build.RegistryArgs(
                    address=self._host, username="oauth2accesstoken", password=token
                )
            ],
            build_on_preview=False,
            opts=self._child,
        )
        return pulumi.Output.concat(self.registry_url, f"/{role}@", image.digest)
