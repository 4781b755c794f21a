"""API Management: every app route is an operation; all but GET /health validate a JWT."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from infra.azure.gateway import GatewayArgs, jwt_policy
from infra.azure.openapi import Operation, load_operations, operations_of
from tests.infra.azure.app_openapi import app_spec
from tests.infra.azure.stacks import (
    AUDIENCE,
    CUSTOM_ISSUER,
    TENANT,
    custom_stack,
    default_stack,
    of,
    one,
)
from tests.infra.mocks import Stack

ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"


def _policies(stack: Stack) -> dict[str, ET.Element]:
    """operation id -> its parsed policy document."""
    return {
        p.inputs["operationId"]: ET.fromstring(p.inputs["value"])
        for p in of(stack, "apimanagement:ApiOperationPolicy")
    }


def test_the_checked_in_spec_matches_the_apps_routes() -> None:
    # Regenerate with `python -m tests.infra.azure.app_openapi` when this fails.
    live = {(op.key, op.operation_id, op.path_parameters) for op in operations_of(app_spec())}
    checked_in = {(op.key, op.operation_id, op.path_parameters) for op in load_operations()}
    assert checked_in == live


def test_the_gateway_has_one_operation_per_route() -> None:
    stack = default_stack()
    deployed = {
        f"{o.inputs['method']} {o.inputs['urlTemplate']}"
        for o in of(stack, "apimanagement:ApiOperation")
    }
    assert deployed == {op.key for op in operations_of(app_spec())}
    assert "GET /health" in deployed and "POST /v1/predict" in deployed
    assert not [k for k in deployed if k.split(" ")[1].startswith("/v1/uploads")]  # local only


def test_path_parameters_are_declared() -> None:
    for o in of(default_stack(), "apimanagement:ApiOperation"):
        named = {p["name"] for p in o.inputs.get("templateParameters", [])}
        in_path = {
            seg.strip("{}") for seg in o.inputs["urlTemplate"].split("/") if seg.startswith("{")
        }
        assert named == in_path, o.inputs["urlTemplate"]


def test_every_operation_but_health_validates_a_jwt() -> None:
    stack = default_stack()
    policies = _policies(stack)
    for o in of(stack, "apimanagement:ApiOperation"):
        key = f"{o.inputs['method']} {o.inputs['urlTemplate']}"
        policy = policies.get(o.inputs["operationId"])
        if key == "GET /health":
            assert policy is None or policy.find(".//validate-jwt") is None
            continue
        assert policy is not None, key
        jwt = policy.find("./inbound/validate-jwt")
        assert jwt is not None, key
        assert policy.find("./inbound/base") is not None, key  # the API's rate limit still applies
        assert jwt.get("header-name") == "Authorization"
        assert jwt.get("failed-validation-httpcode") == "401"
        assert [a.text for a in jwt.findall("./audiences/audience")] == [AUDIENCE]
        assert [i.text for i in jwt.findall("./issuers/issuer")] == [ISSUER]
        openid = jwt.find("./openid-config")
        assert openid is not None
        assert openid.get("url") == f"{ISSUER}/.well-known/openid-configuration"


def test_the_issuer_and_audiences_come_from_config() -> None:
    stack = custom_stack()
    for policy in _policies(stack).values():
        jwt = policy.find("./inbound/validate-jwt")
        assert jwt is not None
        assert [i.text for i in jwt.findall("./issuers/issuer")] == [
            "https://idp.example.com/realms/mlops"
        ]
        assert [a.text for a in jwt.findall("./audiences/audience")] == ["api-one", "api-two"]
    app = (
        one(stack, "app:ContainerApp")
        if len(of(stack, "app:ContainerApp")) == 1
        else next(r for r in of(stack, "app:ContainerApp") if r.name == "app-app")
    )
    env = {v["name"]: v.get("value") for v in app.inputs["template"]["containers"][0]["env"]}
    assert env["MLOPS_AUTH_ISSUER"] == CUSTOM_ISSUER
    assert env["MLOPS_AUTH_AUDIENCE"] == "api-one,api-two"
    assert "MLOPS_AUTH_JWKS_URL" not in env  # the app's default, <issuer>/.well-known/jwks.json


def test_the_api_is_rate_limited_and_fronts_the_app() -> None:
    stack = default_stack()
    service = one(stack, "apimanagement:ApiManagementService")
    assert service.inputs["sku"] == {"name": "Consumption", "capacity": 0}
    api = one(stack, "apimanagement:Api")
    assert api.inputs["serviceUrl"] == stack.outputs["app_url"]
    assert api.inputs["protocols"] == ["https"]
    assert api.inputs["subscriptionRequired"] is False
    policy = ET.fromstring(one(stack, "apimanagement:ApiPolicy").inputs["value"])
    limit = policy.find("./inbound/rate-limit")
    assert limit is not None
    assert (limit.get("calls"), limit.get("renewal-period")) == ("100", "60")
    # Per caller, on Consumption: at most N requests of one address forwarded at a time.
    (guard,) = policy.findall("./backend/limit-concurrency")
    assert guard.get("key") == "@(context.Request.IpAddress)"
    assert guard.get("max-count") == "10"
    assert [child.tag for child in guard] == ["forward-request"]
    assert policy.find("./backend/base") is None  # the forward is the guarded one
    cors = policy.find("./inbound/cors")
    assert cors is None  # no corsOrigins in this stack


def test_policy_xml_escapes_config_values() -> None:
    policy = ET.fromstring(jwt_policy('https://idp.example.com/"a&b', ["<aud>"]))
    assert [a.text for a in policy.iter("audience")] == ["<aud>"]


def test_duplicate_operations_are_refused() -> None:
    op = Operation("GET", "/health", "health")
    with pytest.raises(ValueError, match="unique"):
        GatewayArgs(
            resource_group_name="rg",
            location="westeurope",
            suffix="x",
            backend_url="https://app",
            issuer="https://i",
            audiences=["a"],
            publisher_email="a@b.c",
            operations=[op, op],
        )
