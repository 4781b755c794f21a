"""TrainingJob: the Fargate task definition the app's ECS RunTask launcher starts."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra.aws.fargate_sizes import check_fargate_size
from infra.aws.training import TrainingJob, TrainingJobArgs
from tests.infra.aws.policy_checks import assert_least_privilege, statements
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ARTIFACTS = "arn:aws:s3:::artifacts"
TABLE = "arn:aws:dynamodb:eu-west-3:123456789012:table/records"


def _args(**overrides: object) -> TrainingJobArgs:
    values: dict[str, object] = {
        "image": "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:1",
        "vpc_id": "vpc-1",
        "private_subnet_ids": ["subnet-a", "subnet-b"],
        "uploads_bucket_arn": "arn:aws:s3:::uploads",
        "artifacts_bucket_name": "artifacts",
        "artifacts_bucket_arn": ARTIFACTS,
        "table_name": "records",
        "table_arn": TABLE,
        "environment": {"MLOPS_MLFLOW_TRACKING_URI": "http://mlflow.mlops.internal:5000/mlflow"},
    }
    values.update(overrides)
    return TrainingJobArgs(**values)  # type: ignore[arg-type]


def _program() -> None:
    job = TrainingJob("training", _args())
    for key in ("family", "container_name", "task_definition_arn", "security_group_id"):
        pulumi.export(key, getattr(job, key))


@pytest.fixture(scope="module")
def stack() -> Stack:
    return run_program(_program)


def _container(stack: Stack) -> dict[str, Any]:
    (container,) = stack.one("aws:ecs/taskDefinition:TaskDefinition").json("containerDefinitions")
    return container


def test_the_container_is_named_train_and_trains_with_feedback(stack: Stack) -> None:
    container = _container(stack)
    assert container["name"] == "train" == stack.outputs["container_name"]
    assert container["command"][:3] == ["mlops", "train", "--with-feedback"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"


def test_the_task_definition_is_a_fargate_family_named_after_the_stack(stack: Stack) -> None:
    task = stack.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    assert task["family"] == "mlops-multicloud-test-training" == stack.outputs["family"]
    assert (task["cpu"], task["memory"]) == ("2048", "4096")
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["networkMode"] == "awsvpc"
    assert task["taskRoleArn"].endswith("training-task-role")
    assert task["executionRoleArn"].endswith("training-execution-role")


def test_the_environment_satisfies_the_aws_settings(stack: Stack) -> None:
    environment = {e["name"]: e["value"] for e in _container(stack)["environment"]}
    assert environment["MLOPS_CLOUD"] == "aws"
    assert environment["MLOPS_RECORDS_TABLE"] == "records"
    assert environment["MLOPS_UPLOADS_BUCKET"] == "uploads"
    assert environment["MLOPS_MLFLOW_TRACKING_URI"].startswith("http://mlflow.")


def test_the_task_role_writes_artifacts_and_items_only(stack: Stack) -> None:
    assert_least_privilege(stack)
    body = statements(stack.named("training-task-policy").inputs["policy"])
    by_resource = {tuple(s["Resource"]): set(s["Action"]) for s in body}
    assert {"s3:GetObject", "s3:PutObject"} <= by_resource[(f"{ARTIFACTS}/*",)]
    assert by_resource[(ARTIFACTS,)] == {"s3:ListBucket"}
    assert "dynamodb:UpdateItem" in by_resource[(TABLE, f"{TABLE}/index/*")]
    assert not any("uploads" in str(s["Resource"]) for s in body)


def test_the_job_accepts_no_inbound_traffic(stack: Stack) -> None:
    group = stack.one("aws:ec2/securityGroup:SecurityGroup").inputs
    assert not group.get("ingress")
    assert group["egress"]


def test_the_log_group_has_retention(stack: Stack) -> None:
    assert stack.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30


@pytest.mark.parametrize(("cpu", "memory"), [(2048, 2048), (1000, 4096), (256, 1536)])
def test_sizes_fargate_refuses_fail_early(cpu: int, memory: int) -> None:
    with pytest.raises(ValueError, match="Fargate"):
        _args(cpu=cpu, memory=memory)


@pytest.mark.parametrize(("cpu", "memory"), [(256, 512), (1024, 8192), (4096, 30720)])
def test_sizes_fargate_runs_are_accepted(cpu: int, memory: int) -> None:
    check_fargate_size(cpu, memory)
