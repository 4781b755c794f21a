"""API Gateway: a JWT on every route but /health, the app's real routes, the Cloud Run
backend called as the gateway's account."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.gcp.gateway import FIREBASE_JWKS_URI, ROUTES
from tests.infra.gcp.stacks import API_CONFIG, PROJECT_ID, openapi, reveal, stack
from tests.infra.mocks import Stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

METHODS = {"get", "put", "post", "delete", "patch", "options", "head"}


@pytest.fixture(scope="module", params=["default", "external"])
def any_stack(request: pytest.FixtureRequest) -> Stack:
    return stack(request.param)


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_route_but_health_needs_a_jwt(any_stack: Stack) -> None:
    document = openapi(any_stack.one(API_CONFIG))
    assert document["swagger"] == "2.0"
    assert "security" not in document  # no default that a route could silently inherit
    found = operations(document)
    assert found[("GET", "/health")]["security"] == []
    for key, operation in found.items():
        if key != ("GET", "/health"):
            assert operation["security"] == [{"jwt": []}], key


def test_default_issuer_is_firebase_of_the_project() -> None:
    scheme = openapi(stack("default").one(API_CONFIG))["securityDefinitions"]["jwt"]
    assert scheme["x-google-issuer"] == f"https://securetoken.google.com/{PROJECT_ID}"
    assert scheme["x-google-jwks_uri"] == FIREBASE_JWKS_URI
    assert scheme["x-google-audiences"] == PROJECT_ID


def test_any_oidc_issuer_by_config() -> None:
    document = openapi(stack("external").one(API_CONFIG))
    scheme = document["securityDefinitions"]["jwt"]
    assert scheme["x-google-issuer"] == "https://accounts.google.com"
    assert scheme["x-google-jwks_uri"] == "https://www.googleapis.com/oauth2/v3/certs"
    assert scheme["x-google-audiences"] == "mlops-api"
    # corsOrigins set: preflight requests reach the app.
    assert document["x-google-endpoints"][0]["allowCors"] is True


def test_backend_is_the_app_called_as_the_gateway_account(any_stack: Stack) -> None:
    config = any_stack.one(API_CONFIG)
    backend = openapi(config)["x-google-backend"]
    assert backend["address"] == any_stack.outputs["app_url"]
    assert backend["jwt_audience"] == any_stack.outputs["app_url"]
    assert backend["path_translation"] == "APPEND_PATH_TO_ADDRESS"
    account = reveal(config.inputs["gatewayConfig"])["backendConfig"]["googleServiceAccount"]
    assert account == any_stack.outputs["gateway_service_account"]


def test_path_parameters_are_declared(any_stack: Stack) -> None:
    for (_, path), operation in operations(openapi(any_stack.one(API_CONFIG))).items():
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(path.replace("}", "{").split("{")[1::2]), path


def test_routes_are_the_apps(tmp_path: Path) -> None:
    """The gateway's table against the app's own OpenAPI (local-mode-only routes aside)."""
    from app.api.main import create_app
    from app.api.routes import uploads
    from app.settings import load_settings

    spec = create_app(load_settings(data_dir=tmp_path, cloud="local")).openapi()
    local_only = {route.path for route in uploads.router.routes}  # type: ignore[attr-defined]
    app_routes = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path not in local_only
        for method in item
        if method in METHODS
    }
    assert set(ROUTES) == app_routes
    assert len(ROUTES) == len(set(ROUTES))
    assert set(operations(openapi(stack("default").one(API_CONFIG)))) == app_routes
