"""IAM policy documents built from listed actions and resources.

Every statement names its actions; ``"*"`` as an action is refused here, and a
``"*"`` resource must come with the reason AWS requires it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class Statement:
    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    conditions: dict[str, Any] = field(default_factory=dict)
    # Required when ``resources`` is ``["*"]``: why AWS accepts nothing narrower.
    wildcard_reason: str = ""

    def __post_init__(self) -> None:
        if not self.actions or any(a == "*" or a.endswith(":*") for a in self.actions):
            raise ValueError(f"IAM statement must list its actions, not wildcards: {self.actions}")
        if "*" in self.resources and not self.wildcard_reason:
            raise ValueError(f"A '*' resource needs a wildcard_reason: {self.actions}")


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A JSON policy document; resources may be Outputs (ARNs of other resources)."""

    def render(resolved: list[list[str]]) -> str:
        body = []
        for statement, resources in zip(statements, resolved, strict=True):
            entry: dict[str, Any] = {
                "Effect": "Allow",
                "Action": sorted(statement.actions),
                "Resource": resources,
            }
            if statement.conditions:
                entry["Condition"] = statement.conditions
            body.append(entry)
        return json.dumps({"Version": "2012-10-17", "Statement": body})

    return pulumi.Output.all(*[pulumi.Output.all(*s.resources) for s in statements]).apply(
        lambda resolved: render([list(r) for r in resolved])
    )


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service (``ecs-tasks.amazonaws.com``...) assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def workload_role(
    prefix: str,
    *,
    service: str,
    policy: pulumi.Input[str],
    tags: pulumi.Input[dict[str, str]] | None,
    opts: pulumi.ResourceOptions,
) -> tuple[Any, Any]:
    """One workload's role (``<prefix>-role``, assumed by ``service``) and its inline
    policy (``<prefix>-policy``); the policy is returned so dependants can wait for it."""
    from pulumi_aws import iam

    role = iam.Role(
        f"{prefix}-role", assume_role_policy=assume_role_policy(service), tags=tags, opts=opts
    )
    attached = iam.RolePolicy(f"{prefix}-policy", role=role.id, policy=policy, opts=opts)
    return role, attached
