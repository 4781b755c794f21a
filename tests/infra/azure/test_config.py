"""infra/azure/config.py and the Azure example stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.azure.config import AzureStackConfig
from infra.config import ConfigError, config_key, defaults, read_stack_config

ROOT = Path(__file__).resolve().parents[3]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DEV_STACK = yaml.safe_load((ROOT / "Pulumi.azure-dev.yaml").read_text())["config"]


@pytest.fixture
def pulumi_config() -> Iterator[Any]:
    def apply(values: dict[str, Any]) -> None:
        plain = {
            f"mlops:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()
        }
        pulumi.runtime.set_all_config(plain, [])

    yield apply
    pulumi.runtime.set_all_config({}, [])


def test_every_azure_key_is_documented_with_its_default() -> None:
    documented = {k.removeprefix("mlops:"): e["value"] for k, e in PROJECT["config"].items()}
    for key, value in defaults("azure").items():
        assert documented[key] == value, key


def test_the_dev_stack_sets_every_azure_key_and_is_valid(pulumi_config: Any) -> None:
    settings = {k.removeprefix("mlops:"): v for k, v in DEV_STACK.items() if k.startswith("mlops:")}
    assert set(settings) - set(defaults("azure")) == set()
    assert set(defaults("azure")) - set(settings) == {"mlflowTrackingUri"}
    assert DEV_STACK["azure-native:location"]
    pulumi_config(settings)
    stack = read_stack_config()
    assert stack.cloud == "azure" and stack.azure is not None
    azure = stack.azure
    assert azure.missing() == []
    assert (azure.app_max_replicas, azure.azure_app_memory) == (2, "2Gi")
    assert azure.key_vault_purge_protection is False
    assert azure.cors_origins == ("http://localhost:5173",)
    assert azure.create_mlflow


def test_values_are_read_with_their_types(pulumi_config: Any) -> None:
    pulumi_config(
        {
            "cloud": "azure",
            "azureAppCpu": "0.5",
            "azureAppMemory": "1Gi",
            "appMinReplicas": "0",
            "keyVaultPurgeProtection": "false",
            "authAudience": "a, b",
        }
    )
    azure = read_stack_config().azure
    assert isinstance(azure, AzureStackConfig)
    assert (azure.azure_app_cpu, azure.azure_app_memory, azure.app_min_replicas) == (0.5, "1Gi", 0)
    assert azure.key_vault_purge_protection is False
    assert azure.audiences == ["a", "b"]


def test_required_settings_are_named_before_anything_is_created() -> None:
    problems = AzureStackConfig().missing()
    assert len(problems) == 2
    assert "mlops:apimPublisherEmail" in problems[0]
    assert "mlops:authAudience" in problems[1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"azure_app_cpu": 1.0, "azure_app_memory": "3Gi"},
            "mlops:azureAppCpu/mlops:azureAppMemory",
        ),
        ({"azure_training_cpu": 5.0}, "mlops:azureTrainingCpu"),
        ({"app_min_replicas": 5, "app_max_replicas": 2}, "mlops:appMinReplicas (5)"),
        ({"log_retention_days": 14}, "mlops:logRetentionDays"),
        ({"apim_rate_limit_seconds": 600}, "mlops:apimRateLimitSeconds"),
        ({"apim_concurrent_per_caller": 0}, "mlops:apimConcurrentPerCaller"),
        ({"auth_issuer": "login.example.com"}, "mlops:authIssuer"),
        ({"ocr_plan_sku": "Y1"}, "mlops:ocrPlanSku"),
        ({"mlflow_db_storage_gb": 20}, "mlops:mlflowDbStorageGb"),
        ({"app_image": "registry/app"}, "mlops:appImage"),
        # Event Grid retries 10 s, 30 s, 1 min, 5 min, 10 min... after each try: the 6th
        # delivery (16 min 40 s) is the first after the 11-minute lease.
        ({"event_max_delivery_attempts": 5}, "use at least 6 attempts and 17 minutes"),
        ({"event_ttl_minutes": 16}, "mlops:eventTtlMinutes (16)"),
    ],
)
def test_bad_values_are_refused_in_one_sentence(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AzureStackConfig(**overrides)


def test_shared_keys_keep_the_other_clouds_defaults() -> None:
    # defaults() raises when one key has two defaults across clouds.
    every = defaults()
    for spec in fields(AzureStackConfig):
        assert config_key(spec.name) in every
