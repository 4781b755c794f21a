"""HttpApi: routes, authorizers, integrations and the default stage."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra.aws.api import AdminAuthorizer, HttpApi, HttpApiArgs, LambdaTarget, VpcLinkTarget
from tests.infra.aws.stacks import least_privilege_problems, routes
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ISSUER = "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_abc"
APP_LISTENER = "arn:aws:elasticloadbalancing:eu-west-3:123456789012:listener/net/app/1/80"
MLFLOW_LISTENER = "arn:aws:elasticloadbalancing:eu-west-3:123456789012:listener/net/app/1/5000"
APP_IMAGE = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:1"
ALIAS_INVOKE = (
    "arn:aws:apigateway:eu-west-3:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:eu-west-3:123456789012:function:app:live/invocations"
)
INTEGRATION = "aws:apigatewayv2/integration:Integration"


def _api(**overrides: Any) -> Stack:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": "client-1",
        "vpc_id": "vpc-1",
        "vpc_cidr": "10.0.0.0/16",
        "private_subnet_ids": ["subnet-a", "subnet-b"],
        "app": VpcLinkTarget(listener_arn=APP_LISTENER, port=80),
    }
    values.update(overrides)

    def program() -> None:
        api = HttpApi("api", HttpApiArgs(**values))
        pulumi.export("url", api.url)

    return run_program(program)


@pytest.fixture(scope="module")
def with_mlflow() -> Stack:
    return _api(
        mlflow=VpcLinkTarget(listener_arn=MLFLOW_LISTENER, port=5000),
        admin_authorizer=AdminAuthorizer(image=APP_IMAGE, environment={"MLOPS_CLOUD": "aws"}),
        throttle_burst=40,
        throttle_rate=10,
        cors_origins=["https://app.example.com"],
        log_retention_days=7,
    )


@pytest.fixture(scope="module")
def lambda_app() -> Stack:
    return _api(app=LambdaTarget(function_name="app-fn", qualifier="live", invoke_arn=ALIAS_INVOKE))


def test_health_is_public_and_v1_needs_a_cognito_token(lambda_app: Stack) -> None:
    found = routes(lambda_app)
    assert set(found) == {"GET /health", "ANY /v1/{proxy+}"}
    assert found["GET /health"].inputs["authorizationType"] == "NONE"
    v1 = found["ANY /v1/{proxy+}"].inputs
    assert (v1["authorizationType"], v1["authorizerId"]) == ("JWT", "api-jwt-id")
    jwt = lambda_app.named("api-jwt").inputs
    assert jwt["jwtConfiguration"] == {"issuer": ISSUER, "audiences": ["client-1"]}
    assert jwt["identitySources"] == ["$request.header.Authorization"]


def test_mlflow_is_for_admins_through_the_lambda_authorizer(with_mlflow: Stack) -> None:
    route = routes(with_mlflow)["ANY /mlflow/{proxy+}"].inputs
    assert (route["authorizationType"], route["authorizerId"]) == ("CUSTOM", "api-admin-id")
    assert route["target"] == "integrations/api-mlflow-integration-id"
    admin = with_mlflow.named("api-admin").inputs
    assert admin["authorizerType"] == "REQUEST"
    assert admin["authorizerPayloadFormatVersion"] == "2.0"
    assert admin["enableSimpleResponses"] is True
    function = with_mlflow.named("api-admin-authorizer").inputs
    assert function["imageUri"] == APP_IMAGE
    assert function["imageConfig"]["commands"] == ["functions.aws.admin_authorizer.handler"]
    assert "vpcConfig" not in function  # it fetches Cognito's keys from the internet
    permissions = with_mlflow.of_type("aws:lambda/permission:Permission")
    (invoke,) = [p.inputs for p in permissions if p.name == "api-admin-authorizer-invoke"]
    assert invoke["principal"] == "apigateway.amazonaws.com"
    assert invoke["sourceArn"].endswith(":api-http-id/authorizers/api-admin-id")


def test_the_admin_authorizer_may_only_write_its_logs(with_mlflow: Stack) -> None:
    body = json.loads(with_mlflow.named("api-admin-authorizer-policy").inputs["policy"])
    (statement,) = body["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert least_privilege_problems(with_mlflow) == []


def test_the_app_and_mlflow_are_reached_over_one_vpc_link(with_mlflow: Stack) -> None:
    integrations = {i.name: i.inputs for i in with_mlflow.of_type(INTEGRATION)}
    assert integrations["api-app-integration"]["integrationUri"] == APP_LISTENER
    assert integrations["api-mlflow-integration"]["integrationUri"] == MLFLOW_LISTENER
    for integration in integrations.values():
        assert integration["integrationType"] == "HTTP_PROXY"
        assert (integration["connectionType"], integration["connectionId"]) == (
            "VPC_LINK",
            "api-link-id",
        )
    link = with_mlflow.one("aws:apigatewayv2/vpcLink:VpcLink").inputs
    assert link["subnetIds"] == ["subnet-a", "subnet-b"]
    egress = with_mlflow.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert sorted(r.inputs["fromPort"] for r in egress) == [80, 5000]


def test_lambda_compute_is_a_proxy_integration_of_the_alias(lambda_app: Stack) -> None:
    integration = lambda_app.one(INTEGRATION).inputs
    assert integration["integrationType"] == "AWS_PROXY"
    assert integration["integrationMethod"] == "POST"
    assert integration["integrationUri"] == ALIAS_INVOKE
    assert integration["payloadFormatVersion"] == "2.0"
    permission = lambda_app.one("aws:lambda/permission:Permission").inputs
    assert (permission["function"], permission["qualifier"]) == ("app-fn", "live")
    assert lambda_app.of_type("aws:apigatewayv2/vpcLink:VpcLink") == []


def test_the_default_stage_deploys_throttles_and_logs(with_mlflow: Stack) -> None:
    stage = with_mlflow.one("aws:apigatewayv2/stage:Stage").inputs
    assert (stage["name"], stage["autoDeploy"]) == ("$default", True)
    settings = stage["defaultRouteSettings"]
    assert (settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (40, 10)
    assert stage["accessLogSettings"]["destinationArn"].endswith(":api-access-logs")
    assert json.loads(stage["accessLogSettings"]["format"])["status"] == "$context.status"
    groups = {g.name: g.inputs for g in with_mlflow.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {g["retentionInDays"] for g in groups.values()} == {7}


def test_cors_is_only_set_for_listed_origins(with_mlflow: Stack, lambda_app: Stack) -> None:
    cors = with_mlflow.one("aws:apigatewayv2/api:Api").inputs["corsConfiguration"]
    assert cors["allowOrigins"] == ["https://app.example.com"]
    assert "corsConfiguration" not in lambda_app.one("aws:apigatewayv2/api:Api").inputs


def test_mlflow_without_its_authorizer_is_refused() -> None:
    with pytest.raises(ValueError, match="admin authorizer"):
        HttpApi(
            "api",
            HttpApiArgs(
                issuer=ISSUER,
                audience="client-1",
                vpc_id="vpc-1",
                vpc_cidr="10.0.0.0/16",
                private_subnet_ids=["subnet-a"],
                app=VpcLinkTarget(listener_arn=APP_LISTENER, port=80),
                mlflow=VpcLinkTarget(listener_arn=MLFLOW_LISTENER, port=5000),
            ),
        )
