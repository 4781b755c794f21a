"""The whole Azure program under mocks: outputs, identities, role scopes, no keys."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.azure import roles
from tests.infra.aws.stacks import reveal
from tests.infra.azure.stacks import (
    EXTERNAL_MLFLOW,
    REQUIRED_OUTPUTS,
    SHARED_KEY,
    STORAGE_KEY,
    SUBSCRIPTION,
    custom_stack,
    default_stack,
    external_stack,
    of,
    one,
    run_failing_stack,
)
from tests.infra.mocks import Stack

RESOURCE_SCOPE = re.compile(
    rf"^/subscriptions/{SUBSCRIPTION}/resourceGroups/[^/]+/providers/Microsoft\.[^/]+/[^/]+/.+$"
)
# Signs of a storage credential in a setting: a connection string, an account key, a SAS.
KEY_MARKERS = ("AccountKey=", "DefaultEndpointsProtocol=", "SharedAccessSignature=", "sig=")

STACKS = {"default": default_stack, "external": external_stack}


@pytest.fixture(params=sorted(STACKS))
def stack(request: pytest.FixtureRequest) -> Stack:
    return STACKS[request.param]()


def test_outputs_are_exported(stack: Stack) -> None:
    for name in REQUIRED_OUTPUTS:
        assert stack.outputs.get(name), name
    assert (
        stack.outputs["api_url"].startswith("https://")
        and "azure-api.net" in stack.outputs["api_url"]
    )
    assert stack.outputs["uploads_bucket"] == "uploads"
    assert stack.outputs["registry_url"].endswith(".azurecr.io")
    assert stack.outputs["key_vault"].startswith("mlops-kv-")
    in_stack_mlflow = bool(of(stack, "dbforpostgresql:Server"))
    assert ("mlflow_tracking_url" in stack.outputs) == in_stack_mlflow


def test_every_role_assignment_is_scoped_to_a_resource(stack: Stack) -> None:
    assignments = of(stack, "authorization:RoleAssignment")
    assert assignments
    for assignment in assignments:
        scope = assignment.inputs["scope"]
        assert RESOURCE_SCOPE.match(scope), (assignment.name, scope)
        assert assignment.inputs["principalType"] == "ServicePrincipal"


def test_the_scope_guard_refuses_subscriptions_and_groups() -> None:
    for scope in (
        f"/subscriptions/{SUBSCRIPTION}",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg",
    ):
        with pytest.raises(ValueError, match="not a resource"):
            roles.resource_scope(scope)


def _principal_roles(stack: Stack) -> dict[str, set[tuple[str, str]]]:
    """principal id -> {(role GUID or custom role id, scope tail)}."""
    found: dict[str, set[tuple[str, str]]] = {}
    for a in of(stack, "authorization:RoleAssignment"):
        role = a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        tail = "/".join(a.inputs["scope"].split("/")[-2:])
        found.setdefault(a.inputs["principalId"], set()).add((role, tail))
    return found


def test_each_identity_holds_only_the_roles_it_needs() -> None:
    granted = _principal_roles(default_stack())
    app = granted["principal-base-app-id"]
    assert (roles.ACR_PULL, "registries/mlopsabc123de") in app
    assert (roles.STORAGE_BLOB_DATA_CONTRIBUTOR, "containers/uploads") in app
    assert (roles.STORAGE_BLOB_DATA_CONTRIBUTOR, "containers/artifacts") in app
    assert (roles.STORAGE_BLOB_DELEGATOR, "storageAccounts/mlopsdocsabc123de") in app
    assert (roles.LOG_ANALYTICS_READER, "workspaces/base-logs") in app
    assert ("role-training-starter-role", "jobs/training-job") in app
    assert (roles.KEY_VAULT_SECRETS_USER, "secrets/mlflow-admin-password") in app
    assert len(app) == 7
    training = granted["principal-base-training-id"]
    assert training == {
        (roles.ACR_PULL, "registries/mlopsabc123de"),
        (roles.STORAGE_BLOB_DATA_CONTRIBUTOR, "containers/artifacts"),
        (roles.KEY_VAULT_SECRETS_USER, "secrets/mlflow-admin-password"),
    }
    assert (roles.STORAGE_BLOB_DATA_CONTRIBUTOR, "containers/uploads") not in training
    mlflow = granted["principal-base-mlflow-id"]
    assert mlflow == {
        (roles.ACR_PULL, "registries/mlopsabc123de"),
        (roles.STORAGE_BLOB_DATA_READER, "containers/artifacts"),
        (roles.KEY_VAULT_SECRETS_USER, "secrets/mlflow-db-password"),
        (roles.KEY_VAULT_SECRETS_USER, "secrets/mlflow-admin-password"),
        (roles.KEY_VAULT_SECRETS_USER, "secrets/mlflow-flask-secret-key"),
    }
    ocr = granted["principal-base-ocr-id"]
    assert (roles.STORAGE_BLOB_DATA_OWNER, "storageAccounts/mlopsfuncabc123de") in ocr
    assert (roles.STORAGE_BLOB_DATA_OWNER, "storageAccounts/mlopsdocsabc123de") not in ocr


def test_the_training_starter_role_can_only_start_and_read_the_job() -> None:
    definition = one(default_stack(), "authorization:RoleDefinition")
    (permission,) = definition.inputs["permissions"]
    assert set(permission["actions"]) == {
        "Microsoft.App/jobs/read",
        "Microsoft.App/jobs/start/action",
        "Microsoft.App/jobs/*/read",
    }
    assert not permission.get("dataActions")
    assert definition.inputs["assignableScopes"] == [definition.inputs["scope"]]


def _settings(stack: Stack) -> list[tuple[str, str, Any]]:
    """(resource, name, value) of every env var, app setting and Container App secret."""
    found: list[tuple[str, str, Any]] = []
    for kind in ("app:ContainerApp", "app:Job"):
        for r in of(stack, kind):
            for container in r.inputs["template"]["containers"]:
                for var in container.get("env", []):
                    value = var["value"] if "value" in var else {"secretRef": var["secretRef"]}
                    found.append((r.name, var["name"], value))
            for secret in r.inputs["configuration"].get("secrets", []):
                found.append((r.name, f"secret:{secret['name']}", secret))
    for r in of(stack, "web:WebApp"):
        for setting in r.inputs["siteConfig"]["appSettings"]:
            found.append((r.name, setting["name"], setting["value"]))
    return found


def test_no_storage_key_or_connection_string_reaches_a_workload(stack: Stack) -> None:
    settings = _settings(stack)
    assert settings
    for resource, name, value in settings:
        text = json.dumps(reveal(value))
        assert STORAGE_KEY not in text and SHARED_KEY not in text, (resource, name)
        assert not any(marker in text for marker in KEY_MARKERS), (resource, name)
        assert "CONNECTION_STRING" not in name or name == "APPLICATIONINSIGHTS_CONNECTION_STRING"
    # The program never asks Azure for account keys.
    assert not [t for t, _ in stack.calls if t.endswith("listStorageAccountKeys")]


def test_secrets_are_key_vault_references_never_values(stack: Stack) -> None:
    for r in of(stack, "app:ContainerApp") + of(stack, "app:Job"):
        identity_ids = r.inputs["identity"]["userAssignedIdentities"]
        for secret in r.inputs["configuration"].get("secrets", []):
            assert "value" not in secret, (r.name, secret["name"])
            assert secret["keyVaultUrl"].startswith("https://mlops-kv-")
            assert secret["identity"] in identity_ids
    for _, name, value in _settings(stack):
        if name in ("PGPASSWORD", "MLOPS_MLFLOW_TRACKING_URI") and not isinstance(value, dict):
            assert not str(reveal(value)).startswith("pw"), name


def test_every_workload_knows_its_identity(stack: Stack) -> None:
    for kind in ("app:ContainerApp", "app:Job", "web:WebApp"):
        for r in of(stack, kind):
            env = {n: v for res, n, v in _settings(stack) if res == r.name}
            ids = r.inputs["identity"]["userAssignedIdentities"]
            assert len(ids) == 1, r.name
            assert env["AZURE_CLIENT_ID"] == "client-" + ids[0].rsplit("/", 1)[-1], r.name


def test_workloads_get_the_contracts_settings() -> None:
    stack = default_stack()
    env = {n: v for res, n, v in _settings(stack) if res == "app-app"}
    assert env["MLOPS_CLOUD"] == "azure"
    assert env["MLOPS_UPLOADS_BUCKET"] == "uploads"
    assert (
        env["MLOPS_AZURE_STORAGE_ACCOUNT_URL"] == "https://mlopsdocsabc123de.blob.core.windows.net"
    )
    assert env["MLOPS_AZURE_COSMOS_ENDPOINT"].startswith("https://records-cosmos.documents")
    assert env["MLOPS_AZURE_COSMOS_DATABASE"] == "mlops"
    assert env["MLOPS_AZURE_SUBSCRIPTION_ID"] == SUBSCRIPTION
    assert env["MLOPS_AZURE_RESOURCE_GROUP"] == "base-rg"
    assert env["MLOPS_AZURE_TRAINING_JOB"] == "training-job"
    assert env["MLOPS_AZURE_LOG_WORKSPACE_ID"] == "customer-base-logs"
    assert env["MLOPS_MLFLOW_ARTIFACT_ROOT"] == (
        "wasbs://artifacts@mlopsdocsabc123de.blob.core.windows.net/mlflow"
    )
    assert env["MLOPS_AUTH_ISSUER"].startswith("https://login.microsoftonline.com/")
    assert env["MLOPS_AUTH_JWKS_URL"].endswith("/discovery/v2.0/keys")
    for name in ("MLOPS_AZURE_STORAGE_CONNECTION_STRING",):
        assert name not in env


def test_the_registry_admin_user_is_off(stack: Stack) -> None:
    registry = one(stack, "containerregistry:Registry")
    assert registry.inputs["adminUserEnabled"] is False
    assert registry.inputs["anonymousPullEnabled"] is False
    for r in of(stack, "app:ContainerApp") + of(stack, "app:Job"):
        for entry in r.inputs["configuration"]["registries"]:
            assert set(entry) == {"server", "identity"}, r.name
    site = one(stack, "web:WebApp").inputs["siteConfig"]
    assert site["acrUseManagedIdentityCreds"] is True


def test_images_are_built_here_or_taken_from_config() -> None:
    built = of(default_stack(), "app:ContainerApp")
    assert all("@sha256:" in r.inputs["template"]["containers"][0]["image"] for r in built)
    images = default_stack().of_type("docker-build:index:Image")
    dockerfiles = sorted(i.inputs["dockerfile"]["location"] for i in images)
    assert [d.rsplit("/", 1)[-1] for d in dockerfiles] == [
        "app.Dockerfile",
        "azure-function.Dockerfile",
    ]
    assert not external_stack().of_type("docker-build:index:Image")


def test_key_vault_is_in_rbac_mode(stack: Stack) -> None:
    vault = one(stack, "keyvault:Vault").inputs["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert not vault.get("accessPolicies")
    assert vault["enablePurgeProtection"] is True  # the default


def test_purge_protection_follows_config() -> None:
    vault = one(custom_stack(), "keyvault:Vault")
    assert "enablePurgeProtection" not in vault.inputs["properties"]


def test_a_stack_without_required_settings_stops_before_creating_anything() -> None:
    stack, error = run_failing_stack()
    assert "mlops:apimPublisherEmail" in error and "mlops:authAudience" in error
    assert not [r for r in stack.resources if r.type.startswith("azure-native:")]


def test_every_workload_starts_with_the_settings_it_is_given(stack: Stack) -> None:
    """The app, the OCR function and the trainer validate their settings at start; a
    missing variable would only show in Azure. Key Vault references stand for values
    Azure resolves (an https URL for the tracking URI)."""
    from app.settings import SettingsError, load_settings

    environments: dict[str, dict[str, Any]] = {}
    for resource, name, value in _settings(stack):
        if name.startswith("MLOPS_"):
            is_reference = isinstance(value, dict) or value.startswith("@Microsoft.KeyVault(")
            resolved = EXTERNAL_MLFLOW if is_reference else value
            environments.setdefault(resource, {})[name] = resolved
    assert {"app-app", "training-job", "ocr-app"} <= set(environments)
    for resource, env in environments.items():
        overrides = {key.removeprefix("MLOPS_").lower(): v for key, v in env.items()}
        try:
            load_settings(**overrides)
        except SettingsError as exc:
            pytest.fail(f"{resource} would not start: {exc}")
