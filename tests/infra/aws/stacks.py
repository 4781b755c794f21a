"""Whole-program runs of ``infra/__main__`` under mocks, shared by the stack tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pulumi
from pulumi.runtime import rpc

from infra.__main__ import main
from tests.infra.aws import policy_checks
from tests.infra.aws.policy_checks import statements
from tests.infra.mocks import Resource, Stack, run_program

APP_IMAGE = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/ci/app:1.4.0"
OCR_IMAGE = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/ci/ocr:1.4.0"
EXTERNAL_MLFLOW = "https://mlflow.example.com"
REQUIRED_OUTPUTS = (
    "api_url",
    "user_pool_id",
    "user_pool_client_id",
    "auth_issuer",
    "uploads_bucket",
    "app_repository_url",
    "ocr_repository_url",
    "compute",
)


def run_stack(**settings: str) -> Stack:
    """Run the program with ``mlops:<key>`` settings (``mlops:cloud`` defaults to aws)."""
    config = {f"mlops:{key}": value for key, value in {"cloud": "aws", **settings}.items()}
    return run_program(main, config=config)


def run_failing_stack(**settings: str) -> tuple[Stack, str]:
    """Run a program expected to stop; return what it registered and the error."""
    errors: list[str] = []

    def program() -> None:
        try:
            main()
        except pulumi.RunError as exc:
            errors.append(str(exc))

    config = {f"mlops:{key}": value for key, value in settings.items()}
    stack = run_program(program, config=config)
    assert errors, "the program was expected to stop with a RunError"
    return stack, errors[0]


# policy_checks' list plus what the app's ECS job launcher needs (app/adapters/aws/ecs.py).
WILDCARD_RESOURCE_ACTIONS = policy_checks.WILDCARD_RESOURCE_ACTIONS | {
    "ecs:DescribeTaskDefinition",  # no resource-level permissions
    "ecs:ListTasks",  # names no task; narrowed by the ecs:cluster condition
}
CONDITIONED_ACTIONS = {"ecs:ListTasks": "ecs:cluster", "cloudwatch:PutMetricData": "namespace"}


def least_privilege_problems(stack: Stack) -> list[str]:
    """Wildcard actions anywhere, and "*" resources beyond the actions that need them."""
    problems = policy_checks.resource_problems(stack)
    for name, document in policy_documents(stack):
        for statement in document["Statement"]:
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{name}: NotAction/NotResource")
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else list(actions)
            if not actions or any("*" in action for action in actions):
                problems.append(f"{name}: actions {actions}")
            resources = statement.get("Resource", [])
            if "*" in ([resources] if isinstance(resources, str) else resources):
                extra = set(actions) - WILDCARD_RESOURCE_ACTIONS
                if extra:
                    problems.append(f"{name}: '*' resource for {sorted(extra)}")
                for action, key in CONDITIONED_ACTIONS.items():
                    if action in actions and key not in json.dumps(statement.get("Condition")):
                        problems.append(f"{name}: {action} without its {key} condition")
    return problems


def policy_documents(stack: Stack) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM document the stack registered: trust, inline and role policies."""
    for resource in stack.resources:
        if resource.type == "aws:iam/role:Role":
            yield resource.name, _parsed(resource.inputs["assumeRolePolicy"])
            for inline in resource.inputs.get("inlinePolicies") or []:
                yield resource.name, _parsed(inline["policy"])
        elif resource.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            yield resource.name, _parsed(resource.inputs["policy"])


def _parsed(document: Any) -> dict[str, Any]:
    return {"Statement": statements(document)}


def private_subnet_ids(stack: Stack) -> set[str]:
    return {r.id for r in stack.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}


def routes(stack: Stack) -> dict[str, Resource]:
    return {r.inputs["routeKey"]: r for r in stack.of_type("aws:apigatewayv2/route:Route")}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def reveal(value: Any) -> Any:
    """An input with Pulumi's secret wrappers removed, at any depth."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def containers(resource: Resource) -> list[dict[str, Any]]:
    """A task definition's container definitions, revealed and parsed."""
    return json.loads(reveal(resource.inputs["containerDefinitions"]))
