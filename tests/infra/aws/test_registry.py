"""Registry: ECR repositories, and images built here or taken from config."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from infra.aws.registry import Registry, RegistryArgs, content_tag, lifecycle_policy
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

IMAGE = "docker-build:index:Image"
GIVEN_APP = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/ci/app@sha256:" + "a" * 64
GIVEN_OCR = "ghcr.io/example/ocr:2.0"


def _registry(args: RegistryArgs) -> Stack:
    def program() -> None:
        registry = Registry("images", args)
        for key in ("app_image", "ocr_image", "app_repository_url", "ocr_repository_url"):
            pulumi.export(key, getattr(registry, key))

    return run_program(program)


@pytest.fixture(scope="module")
def built() -> Stack:
    return _registry(RegistryArgs())


@pytest.fixture(scope="module")
def given() -> Stack:
    return _registry(RegistryArgs(app_image=GIVEN_APP, ocr_image=GIVEN_OCR))


def test_repositories_scan_on_push_and_refuse_to_overwrite_a_tag(built: Stack) -> None:
    repos = built.of_type("aws:ecr/repository:Repository")
    assert sorted(r.name for r in repos) == ["images-app", "images-ocr"]
    for repo in repos:
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repo.inputs["forceDelete"] is False


def test_old_images_expire(built: Stack) -> None:
    policies = built.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == 2
    rules = json.loads(policies[0].inputs["policy"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
    # ECR wants the catch-all rule last.
    assert rules[-1]["rulePriority"] == max(r["rulePriority"] for r in rules)
    assert policies[0].inputs["policy"] == lifecycle_policy()


def test_both_images_are_built_from_their_dockerfiles_and_pushed(built: Stack) -> None:
    images = {i.name: i.inputs for i in built.of_type(IMAGE)}
    assert set(images) == {"images-app-image", "images-ocr-image"}
    for role in ("app", "ocr"):
        image = images[f"images-{role}-image"]
        assert image["dockerfile"] == {"location": f"docker/{role}.Dockerfile"}
        assert image["context"] == {"location": "."}
        assert image["push"] is True
        assert image["platforms"] == ["linux/amd64"]
        repo = f"123456789012.dkr.ecr.eu-west-3.amazonaws.com/images-{role}"
        assert image["tags"] == [f"{repo}:{content_tag()}"]
        (registry,) = image["registries"]
        assert registry["address"] == "123456789012.dkr.ecr.eu-west-3.amazonaws.com"
        assert (registry["username"], registry["password"]) == ("AWS", "token")


def test_deployments_use_the_pushed_digest(built: Stack) -> None:
    assert built.outputs["app_image"] == (
        "123456789012.dkr.ecr.eu-west-3.amazonaws.com/images-app@sha256:" + "0" * 64
    )


def test_given_images_are_used_as_they_are_and_nothing_is_built(given: Stack) -> None:
    assert given.of_type(IMAGE) == []
    assert not [token for token, _ in given.calls if "getAuthorizationToken" in token]
    assert (given.outputs["app_image"], given.outputs["ocr_image"]) == (GIVEN_APP, GIVEN_OCR)
    assert len(given.of_type("aws:ecr/repository:Repository")) == 2


def test_the_content_tag_follows_the_build_inputs(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('v1')\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    first = content_tag(("app", "pyproject.toml"), root=tmp_path)
    assert first == content_tag(("pyproject.toml", "app"), root=tmp_path)
    # Bytecode is no input.
    (tmp_path / "app" / "__pycache__").mkdir()
    (tmp_path / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    assert content_tag(("app", "pyproject.toml"), root=tmp_path) == first
    (tmp_path / "app" / "main.py").write_text("print('v2')\n")
    second = content_tag(("app", "pyproject.toml"), root=tmp_path)
    assert second != first and second.startswith("c-")
    # A renamed file is a different build too.
    (tmp_path / "app" / "main.py").rename(tmp_path / "app" / "other.py")
    assert content_tag(("app", "pyproject.toml"), root=tmp_path) not in (first, second)
