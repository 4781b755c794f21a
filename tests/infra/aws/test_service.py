"""AppNetworking and AppService: the app on Fargate behind the NLB, or as a Lambda."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra.aws.service import (
    APP_PORT,
    AppNetworking,
    AppNetworkingArgs,
    AppService,
    AppServiceArgs,
    app_environment,
    validate_fargate_size,
)
from tests.infra.aws.stacks import containers, least_privilege_problems, policy_documents
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

IMAGE = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app@sha256:" + "b" * 64
SUBNETS = ["subnet-a", "subnet-b"]
CLUSTER = "arn:aws:ecs:eu-west-3:123456789012:cluster/mlops"
TRAINING = "arn:aws:ecs:eu-west-3:123456789012:task-definition/training:7"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def _service_args(**overrides: Any) -> AppServiceArgs:
    values: dict[str, Any] = {
        "compute": "fargate",
        "image": IMAGE,
        "vpc_id": "vpc-1",
        "private_subnet_ids": SUBNETS,
        "security_group_id": "sg-app",
        "cluster_arn": CLUSTER,
        "cluster_name": "mlops",
        "environment": {"MLOPS_CLOUD": "aws", "MLOPS_UPLOADS_BUCKET": "uploads"},
        "uploads_bucket_arn": "arn:aws:s3:::uploads",
        "artifacts_bucket_arn": "arn:aws:s3:::artifacts",
        "table_arn": "arn:aws:dynamodb:eu-west-3:123456789012:table/records",
        "training_task_definition_arn": TRAINING,
        "training_task_role_arn": "arn:aws:iam::123456789012:role/training-task",
        "training_execution_role_arn": "arn:aws:iam::123456789012:role/training-execution",
        "training_log_group": "training-logs",
        "load_balancer_arn": "arn:aws:elasticloadbalancing:eu-west-3:123456789012:nlb",
        "min_count": 2,
        "max_count": 6,
    }
    values.update(overrides)
    return AppServiceArgs(**values)


def _run(**overrides: Any) -> Stack:
    def program() -> None:
        app = AppService("app", _service_args(**overrides))
        pulumi.export("listener", app.app_listener_arn)
        pulumi.export("invoke", app.function_invoke_arn)

    return run_program(program)


def _run_refused(**overrides: Any) -> tuple[Stack, str]:
    errors: list[str] = []

    def program() -> None:
        try:
            AppService("app", _service_args(**overrides))
        except ValueError as exc:
            errors.append(str(exc))

    stack = run_program(program)
    assert errors, "AppService accepted the arguments"
    return stack, errors[0]


@pytest.fixture(scope="module")
def fargate() -> Stack:
    return _run(compute="fargate", cpu=1024, memory=2048, log_retention_days=14)


@pytest.fixture(scope="module")
def lambda_() -> Stack:
    return _run(compute="lambda", reserved_concurrency=10, provisioned_concurrency=3)


def _policy(stack: Stack, name: str) -> list[dict[str, Any]]:
    return json.loads(stack.named(name).inputs["policy"])["Statement"]


# -- Fargate sizes ---------------------------------------------------------------------


def test_a_bad_fargate_size_is_refused_before_any_resource() -> None:
    stack, error = _run_refused(cpu=1024, memory=1024)
    assert stack.resources == []
    assert "cpu=1024 and memory=1024 MiB" in error
    assert "one of 2048, 3072, 4096, 5120, 6144, 7168, 8192 MiB" in error


def test_an_unknown_fargate_cpu_names_the_sizes_there_are() -> None:
    with pytest.raises(ValueError, match=r"cpu=300.*256, 512, 1024"):
        validate_fargate_size(300, 1024)


@pytest.mark.parametrize(
    ("cpu", "memory"), [(256, 512), (256, 2048), (4096, 30720), (16384, 122880)]
)
def test_every_edge_of_fargates_table_is_accepted(cpu: int, memory: int) -> None:
    validate_fargate_size(cpu, memory)


@pytest.mark.parametrize(("cpu", "memory"), [(256, 1536), (256, 4096), (8192, 18432)])
def test_gaps_in_fargates_table_are_refused(cpu: int, memory: int) -> None:
    with pytest.raises(ValueError, match="memory must be one of"):
        validate_fargate_size(cpu, memory)


# -- Fargate ---------------------------------------------------------------------------


def test_the_task_is_a_fargate_task_of_the_asked_size(fargate: Stack) -> None:
    task = fargate.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert (task["networkMode"], task["requiresCompatibilities"]) == ("awsvpc", ["FARGATE"])
    assert task["family"] == "mlops-multicloud-test-app"


def test_the_container_serves_on_8000_checks_its_health_and_logs(fargate: Stack) -> None:
    (container,) = containers(fargate.one("aws:ecs/taskDefinition:TaskDefinition"))
    assert container["image"] == IMAGE
    assert container["portMappings"] == [{"containerPort": APP_PORT, "protocol": "tcp"}]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env == {
        "MLOPS_CLOUD": "aws",
        "MLOPS_UPLOADS_BUCKET": "uploads",
        "MLOPS_HOST": "0.0.0.0",
        "MLOPS_PORT": "8000",
    }
    probe = container["healthCheck"]["command"]
    assert probe[:3] == ["CMD", "python", "-c"] and "/health" in probe[3]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "app-logs"
    assert fargate.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 14


def test_the_health_probe_counts_503_as_alive() -> None:
    # No model yet answers 503; the first model is trained through this very service.
    from infra.aws.service import _HEALTH_PROBE

    assert "(200, 503)" in _HEALTH_PROBE
    compile(_HEALTH_PROBE, "<probe>", "exec")


def test_the_service_runs_privately_and_rolls_back_a_failed_deployment(fargate: Stack) -> None:
    service = fargate.one("aws:ecs/service:Service").inputs
    assert service["networkConfiguration"] == {
        "subnets": SUBNETS,
        "securityGroups": ["sg-app"],
        "assignPublicIp": False,
    }
    assert service["launchType"] == "FARGATE"
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["desiredCount"] == 2
    (balancer,) = service["loadBalancers"]
    assert (balancer["containerName"], balancer["containerPort"]) == ("app", APP_PORT)


def test_the_nlb_checks_health_on_slash_health(fargate: Stack) -> None:
    group = fargate.one("aws:lb/targetGroup:TargetGroup").inputs
    assert (group["targetType"], group["protocol"], group["port"]) == ("ip", "TCP", APP_PORT)
    check = group["healthCheck"]
    assert (check["protocol"], check["path"], check["matcher"]) == ("HTTP", "/health", "200,503")
    listener = fargate.one("aws:lb/listener:Listener").inputs
    assert listener["loadBalancerArn"].endswith(":nlb")
    assert listener["defaultActions"][0]["targetGroupArn"].endswith(":app-tg")


def test_cpu_target_tracking_scales_between_the_counts(fargate: Stack) -> None:
    target = fargate.one("aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
    assert target["resourceId"] == "service/mlops/app-service"
    policy = fargate.one("aws:appautoscaling/policy:Policy").inputs
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    assert tracking["targetValue"] == 60


def test_the_task_role_is_least_privilege(fargate: Stack) -> None:
    body = _policy(fargate, "app-task-app")
    by_action = {tuple(s["Action"]): s for s in body}
    uploads = by_action[("s3:DeleteObject", "s3:GetObject", "s3:PutObject")]
    assert uploads["Resource"] == ["arn:aws:s3:::uploads/uploads/*"]
    assert by_action[("s3:GetObject",)]["Resource"] == ["arn:aws:s3:::artifacts/*"]
    (dynamo,) = [s for s in body if s["Action"][0].startswith("dynamodb:")]
    assert dynamo["Resource"] == [
        "arn:aws:dynamodb:eu-west-3:123456789012:table/records",
        "arn:aws:dynamodb:eu-west-3:123456789012:table/records/index/*",
    ]
    run = by_action[("ecs:RunTask",)]
    assert run["Resource"] == ["arn:aws:ecs:eu-west-3:123456789012:task-definition/training:*"]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTER}}
    follow = by_action[("ecs:DescribeTasks", "ecs:StopTask")]
    assert follow["Resource"] == ["arn:aws:ecs:eu-west-3:123456789012:task/mlops/*"]
    passing = by_action[("iam:PassRole",)]
    assert passing["Resource"] == [
        "arn:aws:iam::123456789012:role/training-task",
        "arn:aws:iam::123456789012:role/training-execution",
    ]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    # The launcher finds a lost task again, then reads the job's report from its log.
    listing = by_action[("ecs:ListTasks",)]
    assert (listing["Resource"], listing["Condition"]) == (["*"], run["Condition"])
    assert by_action[("ecs:DescribeTaskDefinition",)]["Resource"] == ["*"]
    assert by_action[("logs:GetLogEvents",)]["Resource"] == [
        "arn:aws:logs:eu-west-3:123456789012:log-group:training-logs:log-stream:*"
    ]
    assert least_privilege_problems(fargate) == []


def test_the_execution_role_pulls_only_the_apps_repository(fargate: Stack) -> None:
    body = _policy(fargate, "app-execution-pull-and-log")
    pulls = [s for s in body if "ecr:BatchGetImage" in s["Action"]]
    assert [s["Resource"] for s in pulls] == [["arn:aws:ecr:eu-west-3:123456789012:repository/app"]]
    roles = {name: doc for name, doc in policy_documents(fargate) if name.endswith("-role")}
    assert set(roles) == {"app-task-role", "app-execution-role"}
    for trust in roles.values():
        assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


# -- Lambda ----------------------------------------------------------------------------


def test_lambda_mode_creates_no_ecs_service_and_no_listener(lambda_: Stack) -> None:
    assert lambda_.of_type("aws:ecs/service:Service") == []
    assert lambda_.of_type("aws:ecs/taskDefinition:TaskDefinition") == []
    assert lambda_.of_type("aws:lb/listener:Listener") == []
    assert lambda_.outputs["listener"] is None


def test_the_function_runs_the_app_image_in_the_vpc(lambda_: Stack) -> None:
    function = lambda_.one("aws:lambda/function:Function").inputs
    assert (function["packageType"], function["imageUri"]) == ("Image", IMAGE)
    assert function["imageConfig"] == {
        "entryPoints": ["python", "-m", "awslambdaric"],
        "commands": ["app.lambda_handler.handler"],
    }
    assert function["vpcConfig"] == {"subnetIds": SUBNETS, "securityGroupIds": ["sg-app"]}
    assert function["environment"]["variables"]["MLOPS_DATA_DIR"] == "/tmp/mlops"
    assert function["reservedConcurrentExecutions"] == 10
    assert function["loggingConfig"]["logGroup"] == "app-logs"


def test_provisioned_concurrency_warms_the_alias_api_gateway_calls(lambda_: Stack) -> None:
    alias = lambda_.one("aws:lambda/alias:Alias").inputs
    assert alias["name"] == "live"
    warm = lambda_.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert (warm.inputs["qualifier"], warm.inputs["provisionedConcurrentExecutions"]) == ("live", 3)
    assert lambda_.outputs["invoke"].endswith(":live/invocations")
    cold = _run(compute="lambda")
    assert (
        cold.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig") == []
    )
    assert cold.one("aws:lambda/function:Function").inputs["reservedConcurrentExecutions"] == -1


def test_the_function_role_adds_only_vpc_and_log_permissions(
    lambda_: Stack, fargate: Stack
) -> None:
    assert _policy(lambda_, "app-function-app") == _policy(fargate, "app-task-app")
    extra = _policy(lambda_, "app-function-vpc-and-logs")
    logs, vpc = extra
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == ["arn:aws:cloudwatch:eu-west-3:123456789012:app-logs:*"]
    assert all(action.startswith("ec2:") for action in vpc["Action"])
    (trust,) = [doc for name, doc in policy_documents(lambda_) if name == "app-function-role"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert least_privilege_problems(lambda_) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"compute": "ec2"}, "compute must be one of"),
        ({"load_balancer_arn": None}, "needs the internal NLB"),
        ({"min_count": 3, "max_count": 2}, "min_count <= max_count"),
        ({"compute": "lambda", "reserved_concurrency": 0}, "reserved_concurrency"),
        ({"compute": "lambda", "lambda_timeout": 60}, "lambda_timeout"),
        (
            {"compute": "lambda", "reserved_concurrency": 2, "provisioned_concurrency": 5},
            "cannot exceed",
        ),
    ],
)
def test_bad_settings_create_nothing(overrides: dict[str, Any], message: str) -> None:
    stack, error = _run_refused(**overrides)
    assert message in error
    assert stack.resources == []


# -- networking ------------------------------------------------------------------------


def _networking(**overrides: Any) -> Stack:
    def program() -> None:
        AppNetworking(
            "app",
            AppNetworkingArgs(
                vpc_id="vpc-1", vpc_cidr="10.0.0.0/16", private_subnet_ids=SUBNETS, **overrides
            ),
        )

    return run_program(program)


def test_only_the_nlb_reaches_the_app_port() -> None:
    stack = _networking(serve_app=True, serve_mlflow=True)
    to_app = [
        r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == "app-app-sg-id"
    ]
    assert to_app == [
        {
            "securityGroupId": "app-app-sg-id",
            "ipProtocol": "tcp",
            "fromPort": APP_PORT,
            "toPort": APP_PORT,
            "referencedSecurityGroupId": "app-nlb-sg-id",
            "description": "Only the internal NLB reaches the app",
        }
    ]
    to_nlb = [
        r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == "app-nlb-sg-id"
    ]
    assert sorted(r["fromPort"] for r in to_nlb) == [80, 5000]
    assert {r["cidrIpv4"] for r in to_nlb} == {"10.0.0.0/16"}
    nlb = stack.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert (nlb["internal"], nlb["loadBalancerType"], nlb["subnets"]) == (True, "network", SUBNETS)


def test_lambda_without_mlflow_needs_no_load_balancer() -> None:
    stack = _networking(serve_app=False, serve_mlflow=False)
    assert stack.of_type("aws:lb/loadBalancer:LoadBalancer") == []
    assert stack.of_type(INGRESS) == []
    assert len(stack.of_type("aws:ec2/securityGroup:SecurityGroup")) == 1


def test_the_environment_joins_id_lists() -> None:
    def program() -> None:
        env = app_environment(
            uploads_bucket="u",
            records_table="t",
            tracking_uri="http://mlflow",
            auth_issuer="https://issuer",
            auth_audience="client",
            cluster_arn=CLUSTER,
            training_family="training",
            training_container="train",
            training_subnet_ids=SUBNETS,
            training_security_group_ids=["sg-1", "sg-2"],
        )
        for key, value in env.items():
            pulumi.export(key, value)

    outputs = run_program(program).outputs
    assert outputs["MLOPS_AWS_TRAINING_SUBNETS"] == "subnet-a,subnet-b"
    assert outputs["MLOPS_AWS_TRAINING_SECURITY_GROUPS"] == "sg-1,sg-2"
    assert outputs["MLOPS_TRAIN_ON_EMPTY_REGISTRY"] == "false"
    assert set(outputs) >= {
        "MLOPS_CLOUD",
        "MLOPS_UPLOADS_BUCKET",
        "MLOPS_RECORDS_TABLE",
        "MLOPS_MLFLOW_TRACKING_URI",
        "MLOPS_AUTH_ISSUER",
        "MLOPS_AUTH_AUDIENCE",
        "MLOPS_AWS_ECS_CLUSTER",
        "MLOPS_AWS_TRAINING_TASK_DEFINITION",
        "MLOPS_AWS_TRAINING_CONTAINER",
    }
