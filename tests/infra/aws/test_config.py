"""infra/config.py, infra/aws/config.py and the Pulumi project and stack files that document it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.aws.config import AwsStackConfig
from infra.config import ConfigError, config_key, defaults, read_stack_config

ROOT = Path(__file__).resolve().parents[3]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DEV_STACK = yaml.safe_load((ROOT / "Pulumi.aws-dev.yaml").read_text())["config"]


@pytest.fixture
def pulumi_config() -> Iterator[Any]:
    """Set ``mlops:*`` config the way the engine hands it to the program."""

    def apply(values: dict[str, Any], secret: tuple[str, ...] = ()) -> None:
        plain = {
            f"mlops:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()
        }
        pulumi.runtime.set_all_config(plain, [f"mlops:{key}" for key in secret])

    yield apply
    pulumi.runtime.set_all_config({}, [])


# -- Pulumi.yaml -----------------------------------------------------------------------


def test_the_project_runs_infra_from_the_repos_virtualenv() -> None:
    assert PROJECT["name"] == "mlops-multicloud"
    assert PROJECT["main"] == "infra/"
    assert PROJECT["runtime"]["name"] == "python"
    assert PROJECT["runtime"]["options"]["virtualenv"] == ".venv"
    assert (ROOT / PROJECT["main"] / "__main__.py").is_file()


def test_every_setting_is_documented_with_its_default() -> None:
    documented = {
        key.removeprefix("mlops:"): entry["value"]
        for key, entry in PROJECT["config"].items()
        if key.startswith("mlops:")
    }
    assert documented == defaults()
    for key, entry in PROJECT["config"].items():
        assert len(entry["description"]) > 20, key


@pytest.mark.parametrize(
    "name", ["Pulumi.yaml", "Pulumi.aws-dev.yaml", "Pulumi.azure-dev.yaml", "Pulumi.gcp-dev.yaml"]
)
def test_no_key_is_written_twice(name: str) -> None:
    # yaml.safe_load keeps the last of two equal keys; Pulumi refuses the file.
    seen: list[str] = []

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        keys = [loader.construct_object(k) for k, _ in node.value]
        seen.extend(str(k) for k in keys if keys.count(k) > 1)
        return yaml.SafeLoader.construct_mapping(loader, node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load((ROOT / name).read_text(), Strict)
    assert seen == []


def test_pulumi_would_accept_the_config_block() -> None:
    # Pulumi's rule (workspace/project.go): a key outside the project's namespace may
    # not declare a type or default, and must carry a value.
    for key, entry in PROJECT["config"].items():
        namespace = key.split(":", 1)[0] if ":" in key else PROJECT["name"]
        if namespace != PROJECT["name"]:
            assert not {"type", "default", "items"} & set(entry), key
            assert "value" in entry, key
        assert set(entry) <= {"type", "items", "description", "secret", "default", "value"}


def test_the_dev_stack_sets_only_known_keys_and_is_valid(pulumi_config: Any) -> None:
    settings = {k.removeprefix("mlops:"): v for k, v in DEV_STACK.items() if k.startswith("mlops:")}
    assert set(settings) - set(defaults("aws")) == set()
    # Every key is shown in the example, the secret one as a comment.
    assert set(defaults("aws")) - set(settings) == {"mlflowTrackingUri"}
    assert settings["cloud"] == "aws"
    pulumi_config(settings)
    stack = read_stack_config()
    assert stack.cloud == "aws" and stack.aws is not None
    assert stack.aws.vpc_cidr == "10.20.0.0/16"
    assert stack.aws.cors_origins == ("http://localhost:5173",)
    assert stack.aws.tags == {"environment": "dev", "owner": "mlops-team"}
    assert stack.aws.deletion_protection is False
    assert stack.aws.create_mlflow


# -- reading ---------------------------------------------------------------------------


def test_unset_keys_take_the_defaults(pulumi_config: Any) -> None:
    pulumi_config({"cloud": "aws"})
    assert read_stack_config().aws == AwsStackConfig()


def test_values_are_read_with_their_types(pulumi_config: Any) -> None:
    pulumi_config(
        {
            "cloud": "AWS",
            "compute": "lambda",
            "azCount": "3",
            "throttleRate": "12.5",
            "deletionProtection": "false",
            "authCallbackUrls": ["https://a.example.com/cb"],
            "authDomainPrefix": "mlops-dev",
            "appImage": "",
        }
    )
    aws = read_stack_config().aws
    assert aws is not None
    assert (aws.compute, aws.az_count, aws.throttle_rate) == ("lambda", 3, 12.5)
    assert aws.deletion_protection is False
    assert aws.auth_callback_urls == ("https://a.example.com/cb",)
    assert aws.app_image == ""  # empty means "build it"


def test_other_clouds_read_no_aws_settings(pulumi_config: Any) -> None:
    pulumi_config({"cloud": "gcp", "appCpu": "3"})  # not checked: not an AWS stack
    settings = read_stack_config()
    assert settings.aws is None and settings.gcp is not None


@pytest.mark.parametrize("secret", [True, False])
def test_a_configured_mlflow_replaces_the_stacks_and_should_be_secret(
    pulumi_config: Any, monkeypatch: pytest.MonkeyPatch, secret: bool
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    pulumi_config(
        {"cloud": "aws", "mlflowTrackingUri": "https://mlflow.example.com"},
        secret=("mlflowTrackingUri",) if secret else (),
    )
    aws = read_stack_config().aws
    assert aws is not None and not aws.create_mlflow
    assert isinstance(aws.mlflow_tracking_uri, pulumi.Output)
    if secret:
        assert warnings == []
    else:
        (warning,) = warnings
        assert "pulumi config set --secret mlops:mlflowTrackingUri" in warning
        assert "mlflow.example.com" not in warning


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "mlops:cloud is not set"),
        ({"cloud": "azur"}, "mlops:cloud is 'azur'; set it to one of aws, azure, gcp"),
        ({"cloud": "aws", "azCount": "two"}, "mlops:azCount must be int"),
        ({"cloud": "aws", "corsOrigins": {"a": 1}}, "mlops:corsOrigins must be a YAML list"),
        ({"cloud": "aws", "mlflowTrackingUri": "mlflow:5000"}, "http(s):// URL"),
    ],
)
def test_unreadable_settings_name_the_key(
    pulumi_config: Any, values: dict[str, Any], message: str
) -> None:
    pulumi_config(values)
    with pytest.raises(ConfigError) as caught:
        read_stack_config()
    assert message in str(caught.value)


# -- checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"compute": "ec2"}, "mlops:compute is 'ec2'; use one of fargate, lambda."),
        ({"nat_gateways": "two"}, "mlops:natGateways is 'two'"),
        ({"mfa": "sms"}, "mlops:mfa is 'sms'"),
        ({"log_retention_days": 31}, "mlops:logRetentionDays is 31"),
        ({"az_count": 1}, "mlops:azCount is 1"),
        ({"vpc_cidr": "10.0.0.0/8"}, "from /16 to /20"),
        ({"vpc_cidr": "ten"}, "mlops:vpcCidr is 'ten'"),
        (
            {"app_cpu": 512, "app_memory": 512},
            "memory must be one of 1024, 2048, 3072, 4096 MiB. "
            "Change mlops:appCpu or mlops:appMemory.",
        ),
        ({"training_memory": 1024}, "mlops:trainingCpu or mlops:trainingMemory"),
        ({"app_min_count": 3, "app_max_count": 2}, "mlops:appMinCount (3) is above"),
        ({"lambda_reserved_concurrency": 0}, "0 would stop the API"),
        (
            {"lambda_reserved_concurrency": 2, "lambda_provisioned_concurrency": 3},
            "exceeds mlops:lambdaReservedConcurrency",
        ),
        ({"lambda_timeout": 31}, "mlops:lambdaTimeout is 31"),
        ({"access_token_minutes": 2}, "mlops:accessTokenMinutes is 2"),
        ({"auth_callback_urls": ("https://x",)}, "need mlops:authDomainPrefix"),
        ({"mlflow_min_acu": 4.0}, "mlops:mlflowMinAcu (4.0)"),
        ({"app_image": "ghcr.io/example/app"}, "name a tag or digest"),
        ({"ocr_batch_size": 11}, "mlops:ocrBatchSize is 11"),
    ],
)
def test_bad_values_are_refused_in_one_sentence(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AwsStackConfig(**overrides)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_config_keys_are_the_fields_in_camel_case() -> None:
    assert config_key("log_retention_days") == "logRetentionDays"
    assert config_key("mfa") == "mfa"
