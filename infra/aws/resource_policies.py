"""Resource policies (bucket, queue, topic, key): statements that name a principal.

``iam.policy_document`` renders identity policies, which have no principal and only
allow; a resource policy also says who, and may deny. The same rule holds here: an
allowing statement lists its actions, and a wildcard action needs a stated reason.

Example::

    resource_policy([
        ResourceStatement(
            principal={"Service": "s3.amazonaws.com"},
            actions=["sqs:SendMessage"],
            resources=[queue.arn],
            conditions={"ArnEquals": {"aws:SourceArn": bucket.arn}},
        )
    ])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi


@dataclass(frozen=True)
class ResourceStatement:
    principal: Any  # "*" or {"Service": ...} / {"AWS": ...}; may hold Outputs
    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    conditions: dict[str, Any] = field(default_factory=dict)
    effect: Literal["Allow", "Deny"] = "Allow"
    # Required for an allowing wildcard action: why nothing narrower will do.
    wildcard_reason: str = ""

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError("A resource policy statement must list its actions.")
        wildcard = any("*" in action for action in self.actions)
        if self.effect == "Allow" and wildcard and not self.wildcard_reason:
            raise ValueError(f"An allowing wildcard action needs a wildcard_reason: {self.actions}")


def resource_policy(statements: Sequence[ResourceStatement]) -> pulumi.Output[str]:
    """A JSON resource policy; principals, resources and conditions may be Outputs."""
    body = []
    for statement in statements:
        entry: dict[str, Any] = {
            "Effect": statement.effect,
            "Principal": statement.principal,
            "Action": sorted(statement.actions),
            "Resource": list(statement.resources),
        }
        if statement.conditions:
            entry["Condition"] = statement.conditions
        body.append(entry)
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": body})
