"""infra/gcp/config.py, the gcp section of Pulumi.yaml and the example stack
Pulumi.gcp-dev.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.config import ConfigError, config_key, defaults, read_stack_config
from infra.gcp.config import GcpStackConfig
from tests.infra.gcp.stacks import PROJECT_ID, REGION, run_failing

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[3]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DEV_STACK = yaml.safe_load((ROOT / "Pulumi.gcp-dev.yaml").read_text())["config"]


@pytest.fixture
def pulumi_config() -> Iterator[Any]:
    """Set config the way the engine hands it to the program (full keys)."""

    def apply(values: dict[str, Any], secret: tuple[str, ...] = ()) -> None:
        plain = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()
        }
        pulumi.runtime.set_all_config(plain, list(secret))

    yield apply
    pulumi.runtime.set_all_config({}, [])


def test_every_gcp_key_is_documented_with_its_default() -> None:
    documented = {
        key.removeprefix("mlops:"): entry["value"]
        for key, entry in PROJECT["config"].items()
        if key.startswith("mlops:")
    }
    for key, value in defaults("gcp").items():
        assert documented.get(key, "<missing>") == value, key


def test_gcp_only_keys_are_prefixed() -> None:
    others = set(defaults("aws")) | set(defaults("azure"))
    for key in GcpStackConfig.defaults():
        assert key in others or key.startswith(("gcp", "auth")), key


def test_dev_stack_names_every_gcp_key_and_is_valid(pulumi_config: Any) -> None:
    keys = {k.removeprefix("mlops:") for k in DEV_STACK if k.startswith("mlops:")}
    gcp_keys = set(defaults("gcp"))
    assert keys - gcp_keys == set(), "keys GCP does not read"
    # Every key but the secret tracking URI (documented in a comment).
    assert gcp_keys - keys == {"mlflowTrackingUri"}
    assert DEV_STACK["gcp:project"] and DEV_STACK["gcp:region"]
    pulumi_config({k: v for k, v in DEV_STACK.items() if k.startswith("mlops:")})
    settings = read_stack_config()
    assert settings.cloud == "gcp" and settings.gcp is not None
    assert settings.gcp.deletion_protection is False
    assert settings.gcp.create_mlflow


def test_defaults_are_valid_and_use_firebase() -> None:
    c = GcpStackConfig()
    assert c.uses_firebase
    assert c.token_issuer("p") == "https://securetoken.google.com/p"
    assert c.token_audiences("p") == ["p"]


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"gcp_app_cpu": 3}, "gcpAppCpu"),
        ({"gcp_app_cpu": 1, "gcp_app_memory": 8192}, "gcpAppMemory"),
        ({"gcp_training_cpu": 4, "gcp_training_memory": 1024}, "gcpTrainingMemory"),
        ({"gcp_app_min_instances": 5, "gcp_app_max_instances": 2}, "gcpAppMinInstances"),
        ({"auth_issuer": "https://issuer.example.com"}, "authJwksUri"),
        (
            {"auth_issuer": "https://i.example.com", "auth_jwks_uri": "https://i.example.com/k"},
            "authAudience",
        ),
        ({"auth_jwks_uri": "https://keys.example.com"}, "authIssuer"),
        ({"auth_issuer": "http://insecure.example.com"}, "authIssuer"),
        ({"gcp_vpc_cidr": "10.0.0.0/28"}, "gcpVpcCidr"),
        ({"gcp_firestore_database": "Bad_Name"}, "gcpFirestoreDatabase"),
        ({"gcp_dead_letter_retention_days": 40}, "gcpDeadLetterRetentionDays"),
        ({"app_image": "registry/app"}, "appImage"),
    ],
)
def test_wrong_settings_name_their_key(values: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=f"mlops:{key}"):
        GcpStackConfig(**values)


def test_settings_are_read_from_mlops_keys(pulumi_config: Any) -> None:
    pulumi_config(
        {
            "mlops:cloud": "gcp",
            "mlops:gcpAppMaxInstances": "7",
            "mlops:corsOrigins": ["https://ui.example.com"],
            "mlops:mlflowTrackingUri": "https://mlflow.example.com",
        },
        secret=("mlops:mlflowTrackingUri",),
    )
    c = read_stack_config().gcp
    assert c.gcp_app_max_instances == 7
    assert c.cors_origins == ("https://ui.example.com",)
    assert not c.create_mlflow
    assert config_key("gcp_app_max_instances") == "gcpAppMaxInstances"


@pytest.mark.parametrize("missing", ["gcp:project", "gcp:region"])
def test_missing_provider_setting_stops_before_anything_is_created(missing: str) -> None:
    provider = {"gcp:project": PROJECT_ID, "gcp:region": REGION}
    del provider[missing]
    registered, error = run_failing(provider=provider)
    assert f"{missing} is not set" in error
    assert f"pulumi config set {missing}" in error
    assert not [r for r in registered.resources if r.type.startswith(("gcp:", "mlops:gcp"))]


def test_wrong_setting_stops_the_program() -> None:
    registered, error = run_failing(gcpAppCpu="3")
    assert "mlops:gcpAppCpu" in error
    assert not registered.resources
