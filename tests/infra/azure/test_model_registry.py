"""MLflow in the stack (Container App + PostgreSQL) or an external one (a secret)."""

from __future__ import annotations

from tests.infra.aws.stacks import is_secret
from tests.infra.azure.stacks import (
    EXTERNAL_MLFLOW,
    custom_stack,
    default_stack,
    external_stack,
    of,
    one,
)


def _app(stack, name):  # type: ignore[no-untyped-def]
    return next(r for r in of(stack, "app:ContainerApp") if r.name == name)


def _env(resource):  # type: ignore[no-untyped-def]
    return {v["name"]: v for v in resource.inputs["template"]["containers"][0]["env"]}


def test_the_stacks_mlflow_uses_basic_auth_and_a_burstable_postgres() -> None:
    stack = default_stack()
    mlflow = _app(stack, "mlflow-app")
    # Public HTTPS by default: the OCR Function runs outside the environment.
    assert mlflow.inputs["configuration"]["ingress"]["external"] is True
    assert mlflow.inputs["configuration"]["ingress"]["allowInsecure"] is False
    server = one(stack, "dbforpostgresql:Server").inputs
    assert server["sku"]["tier"] == "Burstable"
    assert is_secret(server["administratorLoginPassword"])
    command = " ".join(mlflow.inputs["template"]["containers"][0]["command"])
    assert "--app-name basic-auth" in command
    assert "--no-serve-artifacts" in command and "--static-prefix /mlflow" in command
    assert "pw" not in command  # no secret value on the command line
    env = _env(mlflow)
    assert env["MLFLOW_AUTH_CONFIG_PATH"]["value"] in command


def test_an_internal_mlflow_is_reachable_from_the_environment_only() -> None:
    mlflow = _app(custom_stack(), "mlflow-app")
    assert mlflow.inputs["configuration"]["ingress"]["external"] is False
    env = _env(_app(custom_stack(), "app-app"))
    assert ".internal." in env["MLOPS_MLFLOW_TRACKING_URI"]["value"]


def test_the_servers_secrets_are_key_vault_references() -> None:
    stack = default_stack()
    mlflow = _app(stack, "mlflow-app")
    env = _env(mlflow)
    assert env["PGPASSWORD"] == {"name": "PGPASSWORD", "secretRef": "mlflow-db-password"}
    assert env["MLFLOW_ADMIN_PASSWORD"]["secretRef"] == "mlflow-admin-password"
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"]["secretRef"] == "mlflow-flask-secret-key"
    secrets = {s["name"]: s for s in mlflow.inputs["configuration"]["secrets"]}
    assert set(secrets) == {
        "mlflow-db-password",
        "mlflow-admin-password",
        "mlflow-flask-secret-key",
    }
    for name, secret in secrets.items():
        assert secret["keyVaultUrl"].endswith(f"/secrets/{name}")
        assert "value" not in secret
    for stored in of(stack, "keyvault:Secret"):
        assert is_secret(stored.inputs["properties"])  # the value makes the whole block secret


def test_clients_sign_in_to_the_stacks_mlflow() -> None:
    stack = default_stack()
    env = _env(_app(stack, "app-app"))
    assert env["MLOPS_MLFLOW_TRACKING_URI"]["value"] == (
        "https://mlflow-app.mock-env.westeurope.azurecontainerapps.io/mlflow"
    )
    assert env["MLFLOW_TRACKING_USERNAME"]["value"] == "admin"
    assert env["MLFLOW_TRACKING_PASSWORD"]["secretRef"] == "mlflow-admin-password"
    settings = {
        s["name"]: s["value"] for s in one(stack, "web:WebApp").inputs["siteConfig"]["appSettings"]
    }
    assert settings["MLFLOW_TRACKING_PASSWORD"].startswith("@Microsoft.KeyVault(SecretUri=")
    readers = {
        a.inputs["principalId"]
        for a in of(stack, "authorization:RoleAssignment")
        if a.inputs["scope"].endswith("/secrets/mlflow-admin-password")
    }
    assert readers == {f"principal-base-{w}-id" for w in ("app", "ocr", "training", "mlflow")}


def test_an_external_mlflow_creates_no_server_and_is_read_from_key_vault() -> None:
    stack = external_stack()
    assert not of(stack, "dbforpostgresql:Server")
    assert [r.name for r in of(stack, "app:ContainerApp")] == ["app-app"]
    assert not [r for r in of(stack, "managedidentity:UserAssignedIdentity") if "mlflow" in r.name]
    (stored,) = of(stack, "keyvault:Secret")
    assert stored.inputs["secretName"] == "mlflow-tracking-uri"
    assert is_secret(stored.inputs["properties"])  # the value makes the whole block secret
    env = _env(_app(stack, "app-app"))
    assert env["MLOPS_MLFLOW_TRACKING_URI"] == {
        "name": "MLOPS_MLFLOW_TRACKING_URI",
        "secretRef": "mlflow-tracking-uri",
    }
    settings = {
        s["name"]: s["value"] for s in one(stack, "web:WebApp").inputs["siteConfig"]["appSettings"]
    }
    assert settings["MLOPS_MLFLOW_TRACKING_URI"].startswith(
        "@Microsoft.KeyVault(SecretUri=https://"
    )
    assert EXTERNAL_MLFLOW not in str(settings)
    assert "MLFLOW_TRACKING_PASSWORD" not in settings
    readers = [a for a in of(stack, "authorization:RoleAssignment") if "tracking-uri" in a.name]
    assert len(readers) == 3  # app, ocr, training
