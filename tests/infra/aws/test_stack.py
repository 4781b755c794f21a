"""The whole AWS program (infra/__main__.py) under mocks, in both compute modes."""

from __future__ import annotations

import fnmatch
import json
import re

import pulumi
import pytest

from infra.aws.api import AUTHORIZER_HANDLER
from infra.aws.model_registry import ModelRegistry, ModelRegistryArgs
from infra.aws.program import mlflow_address
from infra.aws.service import LAMBDA_ENTRY_POINT, LAMBDA_HANDLER
from tests.infra.aws.stacks import (
    APP_IMAGE,
    EXTERNAL_MLFLOW,
    OCR_IMAGE,
    REQUIRED_OUTPUTS,
    containers,
    is_secret,
    least_privilege_problems,
    policy_documents,
    private_subnet_ids,
    reveal,
    routes,
    run_failing_stack,
    run_stack,
)
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ECS_SERVICE = "aws:ecs/service:Service"
FUNCTION = "aws:lambda/function:Function"
IMAGE = "docker-build:index:Image"


@pytest.fixture(scope="module")
def fargate() -> Stack:
    """Defaults: Fargate, images built here, MLflow in the stack."""
    return run_stack()


@pytest.fixture(scope="module")
def lambda_() -> Stack:
    """Lambda compute with warm executions, CI-built images, three AZs with a NAT each."""
    return run_stack(
        compute="lambda",
        lambdaReservedConcurrency="20",
        lambdaProvisionedConcurrency="2",
        appImage=APP_IMAGE,
        ocrImage=OCR_IMAGE,
        azCount="3",
        natGateways="per-az",
        deletionProtection="false",
    )


@pytest.fixture(scope="module")
def external_mlflow() -> Stack:
    """Lambda compute with an MLflow given by config: no server, no NLB, no /mlflow."""
    return run_stack(compute="lambda", mlflowTrackingUri=EXTERNAL_MLFLOW)


STACKS = ("fargate", "lambda_", "external_mlflow")
# route -> (the route's authorization type, its authorizer's type)
EXPECTED_AUTHORIZERS = {
    "ANY /v1/{proxy+}": ("JWT", "JWT"),
    "ANY /mlflow/{proxy+}": ("CUSTOM", "REQUEST"),
}


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> Stack:
    return request.getfixturevalue(request.param)


# -- the gateway contract --------------------------------------------------------------


def test_the_routes_are_the_contracts_and_metrics_is_not_one(fargate: Stack, lambda_: Stack):
    expected = {"GET /health", "ANY /v1/{proxy+}", "ANY /mlflow/{proxy+}"}
    assert set(routes(fargate)) == expected
    assert set(routes(lambda_)) == expected


def test_every_route_but_health_has_an_authorizer(any_stack: Stack) -> None:
    authorizers = {
        r.id: r.inputs["authorizerType"]
        for r in any_stack.of_type("aws:apigatewayv2/authorizer:Authorizer")
    }
    for key, route in routes(any_stack).items():
        kind = route.inputs.get("authorizationType", "NONE")
        if key == "GET /health":
            assert kind == "NONE"
            continue
        assert route.inputs.get("authorizerId") in authorizers, key
        expected = {
            "ANY /v1/{proxy+}": ("JWT", "JWT"),
            "ANY /mlflow/{proxy+}": ("CUSTOM", "REQUEST"),
        }
        assert (kind, authorizers[route.inputs["authorizerId"]]) == expected[key]
    assert not any("metrics" in key or "$default" in key for key in routes(any_stack))


def test_the_jwt_authorizer_trusts_the_stacks_user_pool(fargate: Stack) -> None:
    jwt = fargate.named("api-jwt").inputs["jwtConfiguration"]
    assert jwt["issuer"] == fargate.outputs["auth_issuer"]
    assert jwt["audiences"] == [fargate.outputs["user_pool_client_id"]]


def test_mlflow_is_routed_only_when_the_stack_runs_it(external_mlflow: Stack) -> None:
    assert set(routes(external_mlflow)) == {"GET /health", "ANY /v1/{proxy+}"}
    assert not external_mlflow.of_type("mlops:aws:ModelRegistry")
    assert not external_mlflow.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert not external_mlflow.of_type("aws:apigatewayv2/vpcLink:VpcLink")
    assert [f.name for f in external_mlflow.of_type(FUNCTION)] == [
        "documents-ocr",
        "app-function",
    ]


def test_the_admin_authorizer_runs_from_the_app_image(lambda_: Stack) -> None:
    function = lambda_.named("api-admin-authorizer")
    assert function.inputs["imageUri"] == APP_IMAGE
    assert function.inputs["imageConfig"]["commands"] == [AUTHORIZER_HANDLER]
    authorizer = lambda_.named("api-admin")
    assert authorizer.inputs["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer.inputs["enableSimpleResponses"] is True
    (permission,) = [
        p
        for p in lambda_.of_type("aws:lambda/permission:Permission")
        if p.inputs["function"] == function.inputs.get("name", function.name)
    ]
    assert permission.inputs["sourceArn"].endswith("/authorizers/api-admin-id")


# -- compute ---------------------------------------------------------------------------


def test_fargate_reaches_the_app_over_the_vpc_link(fargate: Stack) -> None:
    integration = fargate.named("api-app-integration").inputs
    assert (integration["integrationType"], integration["connectionType"]) == (
        "HTTP_PROXY",
        "VPC_LINK",
    )
    assert integration["integrationUri"] == "arn:aws:lb:eu-west-3:123456789012:app-listener"
    assert fargate.named("app-listener").inputs["loadBalancerArn"].endswith(":app-nlb")


def test_lambda_mode_runs_no_app_service_on_ecs(lambda_: Stack, external_mlflow: Stack) -> None:
    assert [s.name for s in lambda_.of_type(ECS_SERVICE)] == ["mlflow-mlflow"]
    assert external_mlflow.of_type(ECS_SERVICE) == []
    integration = lambda_.named("api-app-integration").inputs
    assert integration["integrationType"] == "AWS_PROXY"
    assert integration["integrationUri"].endswith(":live/invocations")


def test_the_app_function_is_the_app_image_in_the_private_subnets(lambda_: Stack) -> None:
    function = lambda_.named("app-function").inputs
    assert function["imageUri"] == APP_IMAGE
    assert function["imageConfig"] == {
        "entryPoints": LAMBDA_ENTRY_POINT,
        "commands": [LAMBDA_HANDLER],
    }
    assert set(function["vpcConfig"]["subnetIds"]) == private_subnet_ids(lambda_)
    assert function["reservedConcurrentExecutions"] == 20
    warm = lambda_.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert (warm.inputs["qualifier"], warm.inputs["provisionedConcurrentExecutions"]) == ("live", 2)


def test_tasks_run_in_private_subnets_without_public_ips(fargate: Stack, lambda_: Stack) -> None:
    for stack in (fargate, lambda_):
        services = stack.of_type(ECS_SERVICE)
        assert services
        for service in services:
            network = service.inputs["networkConfiguration"]
            assert network["assignPublicIp"] is False, service.name
            assert set(network["subnets"]) == private_subnet_ids(stack), service.name
    assert {s.name for s in fargate.of_type(ECS_SERVICE)} == {"app-service", "mlflow-mlflow"}


def test_the_app_gets_the_contracts_environment(fargate: Stack, external_mlflow: Stack) -> None:
    (container,) = fargate.named("app-task").json("containerDefinitions")
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["MLOPS_CLOUD"] == "aws"
    assert env["MLOPS_UPLOADS_BUCKET"] == fargate.outputs["uploads_bucket"]
    assert env["MLOPS_RECORDS_TABLE"] == "documents-records"
    assert env["MLOPS_MLFLOW_TRACKING_URI"] == "http://mlflow.mlops.internal:5000/mlflow"
    assert env["MLOPS_AUTH_ISSUER"] == fargate.outputs["auth_issuer"]
    assert env["MLOPS_AUTH_AUDIENCE"] == fargate.outputs["user_pool_client_id"]
    assert env["MLOPS_AWS_ECS_CLUSTER"].endswith(":cluster/ecs-cluster")
    assert env["MLOPS_AWS_TRAINING_TASK_DEFINITION"] == "mlops-multicloud-test-training"
    assert env["MLOPS_AWS_TRAINING_CONTAINER"] == "train"
    assert set(env["MLOPS_AWS_TRAINING_SUBNETS"].split(",")) == private_subnet_ids(fargate)
    assert env["MLOPS_AWS_TRAINING_SECURITY_GROUPS"] == "training-sg-id"
    assert env["MLOPS_TRAIN_ON_EMPTY_REGISTRY"] == "false"


def test_a_configured_mlflow_reaches_every_client_as_a_secret(external_mlflow: Stack) -> None:
    app = external_mlflow.named("app-function").inputs["environment"]
    ocr = external_mlflow.named("documents-ocr").inputs["environment"]
    (task,) = [
        t
        for t in external_mlflow.of_type("aws:ecs/taskDefinition:TaskDefinition")
        if t.name == "training"
    ]
    training = task.inputs["containerDefinitions"]
    assert is_secret(app) and is_secret(ocr) and is_secret(training)
    variables = reveal(app)["variables"]
    assert variables["MLOPS_MLFLOW_TRACKING_URI"] == EXTERNAL_MLFLOW
    assert variables["MLOPS_DATA_DIR"] == "/tmp/mlops"
    assert reveal(ocr)["variables"]["MLOPS_MLFLOW_TRACKING_URI"] == EXTERNAL_MLFLOW
    (container,) = containers(task)
    assert {"name": "MLOPS_MLFLOW_TRACKING_URI", "value": EXTERNAL_MLFLOW} in container[
        "environment"
    ]


def test_mlflow_admits_every_client_and_listens_on_the_nlb(fargate: Stack) -> None:
    sources = {
        r.inputs.get("referencedSecurityGroupId")
        for r in fargate.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("mlflow-mlflow-from-client")
    }
    assert sources == {"app-app-sg-id", "documents-ocr-sg-id", "training-sg-id"}
    assert fargate.named("mlflow-mlflow-listener").inputs["loadBalancerArn"].endswith(":app-nlb")
    assert (
        fargate.named("api-mlflow-integration")
        .inputs["integrationUri"]
        .endswith(":mlflow-mlflow-listener")
    )


# -- permissions -----------------------------------------------------------------------


def test_no_iam_document_grants_a_wildcard_action(any_stack: Stack) -> None:
    documents = list(policy_documents(any_stack))
    names = {name for name, _ in documents}
    assert {"network-flow-logs-role", "training-task-policy", "app-vpc"} - names == {"app-vpc"}
    assert len(documents) > 10
    for name, document in documents:
        for statement in document["Statement"]:
            assert "NotAction" not in statement, name
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert actions, name
            assert not [a for a in actions if "*" in a], (name, actions)
    assert least_privilege_problems(any_stack) == []


def test_the_app_may_start_training_only_on_its_cluster(fargate: Stack, lambda_: Stack) -> None:
    for stack, policy in ((fargate, "app-task-app"), (lambda_, "app-function-app")):
        body = json.loads(stack.named(policy).inputs["policy"])["Statement"]
        (run,) = [s for s in body if s["Action"] == ["ecs:RunTask"]]
        family = "mlops-multicloud-test-training"
        assert run["Resource"] == [f"arn:aws:ecs:eu-west-3:123456789012:task-definition/{family}:*"]
        assert run["Condition"] == {
            "ArnEquals": {"ecs:cluster": "arn:aws:ecs:eu-west-3:123456789012:cluster/ecs-cluster"}
        }
        (follow,) = [s for s in body if "ecs:StopTask" in s["Action"]]
        assert follow["Resource"] == ["arn:aws:ecs:eu-west-3:123456789012:task/ecs-cluster/*"]
        (passing,) = [s for s in body if s["Action"] == ["iam:PassRole"]]
        assert len(passing["Resource"]) == 2
        uploads = [s for s in body if "s3:PutObject" in s["Action"]]
        assert [s["Resource"] for s in uploads] == [
            ["arn:aws:s3:eu-west-3:123456789012:documents-uploads/uploads/*"]
        ]


def test_the_app_may_read_the_training_jobs_log(fargate: Stack) -> None:
    # TrainingJob keeps its log group to itself: the granted pattern must match the group
    # its task definition logs to, as Pulumi names it (<resource name>-<7 random chars>).
    (task,) = [
        t for t in fargate.of_type("aws:ecs/taskDefinition:TaskDefinition") if t.name == "training"
    ]
    (container,) = containers(task)
    (group,) = [
        g
        for g in fargate.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs.get("name", g.name) == container["logConfiguration"]["options"]["awslogs-group"]
    ]
    body = json.loads(fargate.named("app-task-app").inputs["policy"])["Statement"]
    (reading,) = [s for s in body if s["Action"] == ["logs:GetLogEvents"]]
    (streams,) = reading["Resource"]
    pattern = streams.removesuffix(":log-stream:*").split(":log-group:", 1)[1]
    assert fnmatch.fnmatchcase(f"{group.name}-a1b2c3d", pattern)
    assert not fnmatch.fnmatchcase("app-logs-a1b2c3d", pattern)


# -- images ----------------------------------------------------------------------------


def test_images_are_built_and_pinned_by_digest_when_not_given(fargate: Stack) -> None:
    images = fargate.of_type(IMAGE)
    assert sorted(i.name for i in images) == ["images-app-image", "images-ocr-image"]
    for image in images:
        assert image.inputs["push"] is True
        (tag,) = image.inputs["tags"]
        assert ":c-" in tag  # the content tag: the repositories refuse to overwrite one
    (container,) = fargate.named("app-task").json("containerDefinitions")
    assert "@sha256:" in container["image"]


def test_images_from_config_skip_the_builds(lambda_: Stack) -> None:
    assert lambda_.of_type(IMAGE) == []
    assert not [c for c in lambda_.calls if c[0].startswith("aws:ecr/getAuthorizationToken")]
    assert lambda_.named("documents-ocr").inputs["imageUri"] == OCR_IMAGE
    # The repositories still exist, for CI to push to.
    assert len(lambda_.of_type("aws:ecr/repository:Repository")) == 2


# -- network ---------------------------------------------------------------------------


def test_nat_gateways_follow_the_setting(fargate: Stack, lambda_: Stack) -> None:
    assert len(fargate.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(lambda_.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert len(private_subnet_ids(lambda_)) == 3


# -- outputs and settings --------------------------------------------------------------


def test_deletion_protection_follows_the_setting(fargate: Stack, lambda_: Stack) -> None:
    for stack, protected in ((fargate, True), (lambda_, False)):
        pool = stack.one("aws:cognito/userPool:UserPool").inputs
        assert pool["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE")
        table = stack.one("aws:dynamodb/table:Table").inputs
        assert table["deletionProtectionEnabled"] is protected
        for repo in stack.of_type("aws:ecr/repository:Repository"):
            assert repo.inputs["forceDelete"] is not protected
        for bucket in stack.of_type("aws:s3/bucket:Bucket"):
            assert bucket.inputs["forceDestroy"] is not protected


def test_the_outputs_are_exported(any_stack: Stack) -> None:
    missing = [k for k in REQUIRED_OUTPUTS if not any_stack.outputs.get(k)]
    assert not missing
    assert any_stack.outputs["api_url"].startswith("https://")
    assert any_stack.outputs["auth_issuer"].startswith("https://cognito-idp.")


def test_the_compute_mode_is_exported(fargate: Stack, lambda_: Stack) -> None:
    assert (fargate.outputs["compute"], lambda_.outputs["compute"]) == ("fargate", "lambda")


def test_mlflows_public_address_is_exported_only_when_the_stack_runs_it(
    fargate: Stack, external_mlflow: Stack
) -> None:
    assert fargate.outputs["mlflow_tracking_url"] == f"{fargate.outputs['api_url']}/mlflow"
    assert "mlflow_tracking_url" not in external_mlflow.outputs


def test_a_bad_fargate_size_stops_the_program_before_any_resource() -> None:
    stack, error = run_failing_stack(cloud="aws", appCpu="512", appMemory="512")
    assert stack.resources == []
    assert "memory must be one of 1024, 2048, 3072, 4096 MiB" in error
    assert "mlops:appCpu" in error and "mlops:appMemory" in error


def test_clients_are_given_the_address_the_mlflow_server_registers() -> None:
    # The clients are made before the server, so the program names its address ahead.
    def program() -> None:
        registry = ModelRegistry(
            "mlflow",
            ModelRegistryArgs(
                vpc_id="vpc-1",
                vpc_cidr="10.0.0.0/16",
                private_subnet_ids=["subnet-a", "subnet-b"],
                cluster_arn="arn:aws:ecs:eu-west-3:123456789012:cluster/mlops",
                cluster_name="mlops",
                namespace_id="ns-1",
                namespace_name="stack.internal",
                image=APP_IMAGE,
                artifacts_bucket_name="artifacts",
                artifacts_bucket_arn="arn:aws:s3:::artifacts",
            ),
        )
        pulumi.export("tracking_uri", registry.tracking_uri)

    stack = run_program(program)
    assert stack.outputs["tracking_uri"] == mlflow_address("stack.internal")


def test_a_stack_without_a_cloud_is_told_how_to_set_one() -> None:
    stack, error = run_failing_stack()
    assert stack.resources == []
    assert "pulumi config set mlops:cloud aws" in error


def _workload_environments(stack: Stack) -> dict[str, dict[str, str]]:
    """Every Lambda function's and every container's ``MLOPS_*`` environment that runs the
    app's code (``MLOPS_CLOUD=aws``); secrets count as given."""
    found: dict[str, dict[str, str]] = {}
    for fn in stack.of_type("aws:lambda/function:Function"):
        variables = (reveal(fn.inputs.get("environment")) or {}).get("variables") or {}
        if variables.get("MLOPS_CLOUD") == "aws":
            found[fn.name] = dict(variables)
    for task in stack.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        for container in containers(task):
            env = {e["name"]: e["value"] for e in container.get("environment", [])}
            env.update({s["name"]: "from-a-secret" for s in container.get("secrets", [])})
            if env.get("MLOPS_CLOUD") == "aws":
                found[f"{task.name}/{container['name']}"] = env
    return found


def test_every_workload_starts_with_the_settings_it_is_given(any_stack: Stack) -> None:
    """The app, the OCR function, the authorizer and the trainer each validate their
    settings at start; a missing variable would only show in the cloud."""
    from app.settings import SettingsError, load_settings

    environments = _workload_environments(any_stack)
    assert len(environments) >= 3, environments.keys()  # app or its function, OCR, training
    for name, env in environments.items():
        overrides = {
            key.removeprefix("MLOPS_").lower(): value
            for key, value in env.items()
            if key.startswith("MLOPS_")
        }
        try:
            load_settings(**overrides)
        except SettingsError as exc:
            pytest.fail(f"{name} would not start: {exc}")


# -- what AWS validates and the mocks do not -------------------------------------------------

# EC2's character sets (CreateSecurityGroup, and the rules' descriptions): no apostrophe.
_GROUP_DESCRIPTION = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}"
_RULE_DESCRIPTION = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=;{}!$*]{0,255}"


def test_security_group_descriptions_use_the_characters_ec2_accepts(any_stack: Stack) -> None:
    rules = (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    )
    checks = [("aws:ec2/securityGroup:SecurityGroup", _GROUP_DESCRIPTION)]
    checks += [(type_, _RULE_DESCRIPTION) for type_ in rules]
    bad = [
        (r.name, r.inputs["description"])
        for type_, pattern in checks
        for r in any_stack.of_type(type_)
        if not re.fullmatch(pattern, r.inputs.get("description", ""))
    ]
    assert not bad
