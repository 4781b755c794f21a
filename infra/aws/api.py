"""The public entry: an API Gateway HTTP API in front of the app (and MLflow).

Routes (the gateway contract):

- ``GET /health``           public;
- ``ANY /v1/{proxy+}``      Cognito JWT authorizer (issuer + app client audience);
- ``ANY /mlflow/{proxy+}``  only when the stack runs MLflow: a Lambda REQUEST authorizer
  from the app image lets members of the ``admin`` group through;
- ``/metrics`` is deliberately not routed.

The app is reached over a VPC link to the internal NLB (compute=fargate) or as a Lambda
proxy integration (compute=lambda); MLflow always through the VPC link.

Example::

    api = HttpApi("api", HttpApiArgs(
        issuer=identity.issuer, audience=identity.client_id, vpc_id=net.vpc_id,
        vpc_cidr=net.cidr_block, private_subnet_ids=net.private_subnet_ids,
        app=VpcLinkTarget(listener_arn=app.app_listener_arn)))
    api.url  # https://<id>.execute-api.<region>.amazonaws.com
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_aws import apigatewayv2, cloudwatch, ec2, lambda_
from pulumi_aws import vpc as vpc_rules

from infra.aws.ecs_tasks import log_writing
from infra.aws.iam import policy_document, workload_role

PUBLIC_ROUTES = ("GET /health",)
APP_ROUTE = "ANY /v1/{proxy+}"
MLFLOW_ROUTE = "ANY /mlflow/{proxy+}"
AUTHORIZER_HANDLER = "functions.aws.admin_authorizer.handler"
LAMBDA_ENTRY_POINT = ["python", "-m", "awslambdaric"]
# API Gateway gives up on an integration after 30 s.
INTEGRATION_TIMEOUT_MS = 30_000
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "time": "$context.requestTime",
        "method": "$context.httpMethod",
        "route": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "bytes": "$context.responseLength",
        "user": "$context.authorizer.claims.sub",
        "authorizerError": "$context.authorizer.error",
        "integrationError": "$context.integrationErrorMessage",
    }
)


@dataclass
class VpcLinkTarget:
    """An NLB listener reached through the API's VPC link."""

    listener_arn: pulumi.Input[str]
    port: int


@dataclass
class LambdaTarget:
    """A Lambda function (alias) invoked with the 2.0 proxy payload."""

    function_name: pulumi.Input[str]
    qualifier: str
    invoke_arn: pulumi.Input[str]


@dataclass
class AdminAuthorizer:
    """The Lambda REQUEST authorizer guarding MLflow, run from the app image."""

    image: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    memory: int = 512
    timeout: int = 10
    # Decisions are cached per Authorization header.
    cache_seconds: int = 300


@dataclass
class HttpApiArgs:
    issuer: pulumi.Input[str]
    audience: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: pulumi.Input[Sequence[str]]
    app: VpcLinkTarget | LambdaTarget
    # Both or neither: MLflow behind the NLB and who may reach it.
    mlflow: VpcLinkTarget | None = None
    admin_authorizer: AdminAuthorizer | None = None
    throttle_burst: int = 100
    throttle_rate: float = 50
    cors_origins: Sequence[str] = ()
    log_retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)


class HttpApi(pulumi.ComponentResource):
    api_id: pulumi.Output[str]
    url: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    routes: list[str]

    def __init__(
        self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if (args.mlflow is None) != (args.admin_authorizer is None):
            raise ValueError("the MLflow route needs its admin authorizer, and only it does")
        if args.throttle_burst < 0 or args.throttle_rate < 0:
            raise ValueError("throttle_burst and throttle_rate cannot be negative")
        super().__init__("mlops:aws:HttpApi", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        api = apigatewayv2.Api(
            f"{name}-http",
            protocol_type="HTTP",
            description="mlops-multicloud: the app's /v1 API, its health and MLflow",
            cors_configuration=self._cors(),
            tags=args.tags,
            opts=self._child,
        )
        self._api = api
        self._link = self._build_vpc_link()
        jwt = apigatewayv2.Authorizer(
            f"{name}-jwt",
            api_id=api.id,
            name="cognito",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={"issuer": args.issuer, "audiences": [args.audience]},
            opts=self._child,
        )
        app = self._build_integration("app", args.app)
        self.routes = []
        for route in PUBLIC_ROUTES:
            self._build_route(route, app)
        self._build_route(APP_ROUTE, app, authorization_type="JWT", authorizer=jwt)
        if args.mlflow is not None and args.admin_authorizer is not None:
            admin = self._build_admin_authorizer(args.admin_authorizer)
            mlflow = self._build_integration("mlflow", args.mlflow)
            self._build_route(MLFLOW_ROUTE, mlflow, authorization_type="CUSTOM", authorizer=admin)
        self._build_stage()

        self.api_id = api.id
        self.url = api.api_endpoint
        self.execution_arn = api.execution_arn
        self.register_outputs({"api_id": self.api_id, "url": self.url, "routes": self.routes})

    def _cors(self) -> dict[str, object] | None:
        if not self._args.cors_origins:
            return None
        return {
            "allow_origins": list(self._args.cors_origins),
            "allow_methods": ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"],
            "allow_headers": ["authorization", "content-type"],
            "max_age": 3600,
        }

    def _build_vpc_link(self) -> apigatewayv2.VpcLink | None:
        args = self._args
        ports = sorted({t.port for t in (args.app, args.mlflow) if isinstance(t, VpcLinkTarget)})
        if not ports:
            return None
        group = ec2.SecurityGroup(
            f"{self._name}-link-sg",
            vpc_id=args.vpc_id,
            description="API Gateway VPC link: out to the internal NLB listeners only",
            tags=args.tags,
            opts=self._child,
        )
        for port in ports:
            vpc_rules.SecurityGroupEgressRule(
                f"{self._name}-link-out-{port}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=args.vpc_cidr,
                description="Internal NLB listener",
                opts=self._child,
            )
        return apigatewayv2.VpcLink(
            f"{self._name}-link",
            subnet_ids=args.private_subnet_ids,
            security_group_ids=[group.id],
            tags=args.tags,
            opts=self._child,
        )

    def _build_integration(
        self, role: str, target: VpcLinkTarget | LambdaTarget
    ) -> apigatewayv2.Integration:
        api = self._api
        if isinstance(target, VpcLinkTarget):
            assert self._link is not None  # made for every VPC link target
            return apigatewayv2.Integration(
                f"{self._name}-{role}-integration",
                api_id=api.id,
                integration_type="HTTP_PROXY",
                integration_method="ANY",
                integration_uri=target.listener_arn,
                connection_type="VPC_LINK",
                connection_id=self._link.id,
                payload_format_version="1.0",
                timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
                opts=self._child,
            )
        lambda_.Permission(
            f"{self._name}-{role}-invoke",
            action="lambda:InvokeFunction",
            function=target.function_name,
            qualifier=target.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
            opts=self._child,
        )
        return apigatewayv2.Integration(
            f"{self._name}-{role}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            # Lambda is always invoked with POST; the provider wants it stated.
            integration_method="POST",
            integration_uri=target.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
            opts=self._child,
        )

    def _build_route(
        self,
        route_key: str,
        integration: apigatewayv2.Integration,
        *,
        authorization_type: str = "NONE",
        authorizer: apigatewayv2.Authorizer | None = None,
    ) -> None:
        slug = route_key.split(" ", 1)[1].strip("/").split("/")[0] or "root"
        apigatewayv2.Route(
            f"{self._name}-{slug}-route",
            api_id=self._api.id,
            route_key=route_key,
            target=pulumi.Output.concat("integrations/", integration.id),
            authorization_type=authorization_type,
            authorizer_id=authorizer.id if authorizer is not None else None,
            opts=self._child,
        )
        self.routes.append(route_key)

    def _build_admin_authorizer(self, spec: AdminAuthorizer) -> apigatewayv2.Authorizer:
        name, args = self._name, self._args
        log_group = cloudwatch.LogGroup(
            f"{name}-admin-authorizer-logs",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=self._child,
        )
        # It checks a token against Cognito's public keys: logging is all it does in AWS.
        role, policy = workload_role(
            f"{name}-admin-authorizer",
            service="lambda.amazonaws.com",
            policy=policy_document([log_writing(log_group.arn)]),
            tags=args.tags,
            opts=self._child,
        )
        function = lambda_.Function(
            f"{name}-admin-authorizer",
            package_type="Image",
            image_uri=spec.image,
            image_config={"entry_points": LAMBDA_ENTRY_POINT, "commands": [AUTHORIZER_HANDLER]},
            role=role.arn,
            memory_size=spec.memory,
            timeout=spec.timeout,
            environment={"variables": {**spec.environment, "MLOPS_DATA_DIR": "/tmp/mlops"}},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        authorizer = apigatewayv2.Authorizer(
            f"{name}-admin",
            api_id=self._api.id,
            name="admin",
            authorizer_type="REQUEST",
            authorizer_uri=function.invoke_arn,
            authorizer_payload_format_version="2.0",
            enable_simple_responses=True,
            identity_sources=["$request.header.Authorization"],
            authorizer_result_ttl_in_seconds=spec.cache_seconds,
            opts=self._child,
        )
        lambda_.Permission(
            f"{name}-admin-authorizer-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(
                self._api.execution_arn, "/authorizers/", authorizer.id
            ),
            opts=self._child,
        )
        return authorizer

    def _build_stage(self) -> None:
        args = self._args
        log_group = cloudwatch.LogGroup(
            f"{self._name}-access-logs",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=self._child,
        )
        apigatewayv2.Stage(
            f"{self._name}-default",
            api_id=self._api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_burst_limit": args.throttle_burst,
                "throttling_rate_limit": args.throttle_rate,
                "detailed_metrics_enabled": True,
            },
            access_log_settings={
                "destination_arn": log_group.arn,
                "format": ACCESS_LOG_FORMAT,
            },
            tags=args.tags,
            opts=self._child,
        )
