"""What every Fargate task of ours shares: the execution role's policy and its log driver.

The execution role is the ECS agent's, not the application's: it pulls the image,
writes the container's logs and reads the secrets injected as environment variables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pulumi

from infra.aws.iam import Statement, policy_document

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"(?P<china>\.cn)?/(?P<repository>[a-z0-9._/-]+?)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$"
)


def ecr_repository_arn(image: str) -> str | None:
    """The ECR repository an image URI points into, or ``None`` for another registry.

    Example::

        ecr_repository_arn("123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:v1")
        # 'arn:aws:ecr:eu-west-3:123456789012:repository/app'
    """
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    partition = "aws-cn" if match["china"] else "aws"
    return (
        f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
    )


def log_writing(log_group_arn: pulumi.Input[str]) -> Statement:
    """Write streams of one log group (the group itself is created by Pulumi)."""
    return Statement(
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[pulumi.Output.concat(log_group_arn, ":*")],
    )


def execution_role_policy(
    image: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    secret_arns: Sequence[pulumi.Input[str]] = (),
) -> pulumi.Output[str]:
    """Pull ``image`` (if it lives in ECR), write its logs, read ``secret_arns``."""

    def render(uri: str) -> pulumi.Output[str]:
        statements = [log_writing(log_group_arn)]
        repository = ecr_repository_arn(uri)
        if repository is not None:
            statements += [
                Statement(
                    actions=["ecr:GetAuthorizationToken"],
                    resources=["*"],
                    wildcard_reason="ecr:GetAuthorizationToken has no resource-level permissions",
                ),
                Statement(
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    resources=[repository],
                ),
            ]
        if secret_arns:
            statements.append(
                Statement(actions=["secretsmanager:GetSecretValue"], resources=list(secret_arns))
            )
        return policy_document(statements)

    return pulumi.Output.from_input(image).apply(render)


def awslogs(
    log_group_name: pulumi.Input[str], region: pulumi.Input[str], prefix: str
) -> dict[str, Any]:
    """A container's ``logConfiguration`` sending stdout/stderr to one log group."""
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group_name,
            "awslogs-region": region,
            "awslogs-stream-prefix": prefix,
        },
    }
