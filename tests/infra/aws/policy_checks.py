"""Least-privilege checks over every policy document a mocked program registered.

Identity policies (role policies) never name a wildcard action, and name the ``"*"``
resource only for the actions AWS gives no resource-level permission. Resource policies
(bucket, queue, topic, key) may deny broadly; they allow a wildcard action only in a KMS
key's account-root statement, AWS's default key policy.
"""

from __future__ import annotations

import json
from typing import Any

from tests.infra.mocks import Stack

# Actions that take no narrower resource, each with its reason in the component code.
WILDCARD_RESOURCE_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:PutMetricData",
        "ecr:GetAuthorizationToken",
        # Lambda's VPC attachment (AWSLambdaVPCAccessExecutionRole, listed).
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:UnassignPrivateIpAddresses",
    }
)

IDENTITY_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
RESOURCE_POLICY_TYPES = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:kms/key:Key": "policy",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    body = json.loads(document) if isinstance(document, str) else document
    return _as_list(body["Statement"])


def identity_policies(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    return {
        r.name: statements(r.inputs["policy"])
        for r in stack.resources
        if r.type in IDENTITY_POLICY_TYPES
    }


def identity_problems(stack: Stack) -> list[str]:
    problems = []
    for name, body in identity_policies(stack).items():
        for statement in body:
            actions = _as_list(statement["Action"])
            if statement.get("Effect", "Allow") != "Allow":
                continue
            wild = [a for a in actions if "*" in a]
            if wild:
                problems.append(f"{name}: wildcard actions {wild}")
            if "*" in _as_list(statement["Resource"]):
                extra = set(actions) - WILDCARD_RESOURCE_ACTIONS
                if extra:
                    problems.append(f"{name}: '*' resource for {sorted(extra)}")
            if "cloudwatch:PutMetricData" in actions and not statement.get("Condition"):
                problems.append(f"{name}: PutMetricData without a namespace condition")
    return problems


def resource_problems(stack: Stack) -> list[str]:
    problems = []
    for resource in stack.resources:
        key = RESOURCE_POLICY_TYPES.get(resource.type)
        if key is None or key not in resource.inputs:
            continue
        for statement in statements(resource.inputs[key]):
            if statement["Effect"] != "Allow":
                continue
            wild = [a for a in _as_list(statement["Action"]) if "*" in a]
            root = str(statement.get("Principal", {}).get("AWS", "")).endswith(":root")
            if wild and not (resource.type == "aws:kms/key:Key" and root):
                problems.append(f"{resource.name}: allows wildcard actions {wild}")
            if statement.get("Principal") == "*":
                problems.append(f"{resource.name}: allows any principal")
    return problems


def assert_least_privilege(stack: Stack) -> None:
    problems = identity_problems(stack) + resource_problems(stack)
    assert not problems, "\n".join(problems)
