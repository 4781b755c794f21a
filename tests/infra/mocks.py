"""Run a Pulumi program under mocks and return every resource it registered.

Example::

    stack = run_program(lambda: Network("net", NetworkArgs(az_count=2)), config={...})
    vpcs = stack.of_type("aws:ec2/vpc:Vpc")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.runtime

PROJECT = "mlops-multicloud"
STACK = "test"
REGION = "eu-west-3"
ACCOUNT = "123456789012"


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    id: str

    def json(self, key: str) -> Any:
        """An input that holds a JSON document (policies), parsed."""
        value = self.inputs[key]
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class Stack:
    resources: list[Resource] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]


def _invoke_arn(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def _arn(type_: str, name: str) -> str:
    service = type_.split(":")[1].split("/")[0]
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"


# A cloud's tests give the invokes their program makes (token -> result of its arguments)
# and the computed attributes of its resources (type -> extra state of the inputs).
Calls = Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]
States = Mapping[str, Callable[[str, dict[str, Any]], dict[str, Any]]]


class RecordingMocks(pulumi.runtime.Mocks):
    """Resources get an id, an ARN and a few computed attributes the programs read."""

    def __init__(self, stack: Stack, calls: Calls | None = None, states: States | None = None):
        self.stack = stack
        self.calls = calls or {}
        self.states = states or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid = f"{args.name}-id"
        state = dict(args.inputs)
        state.setdefault("arn", _arn(args.typ, args.name))
        state.setdefault("id", rid)
        state.setdefault("name", args.inputs.get("name", args.name))
        if args.typ in ("aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket"):
            state.setdefault("bucket", args.name)
        if args.typ.startswith("aws:ecr/repository"):
            state.setdefault(
                "repositoryUrl", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{args.name}"
            )
        if args.typ == "aws:sqs/queue:Queue":
            state.setdefault("url", f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{args.name}")
        if args.typ == "aws:cognito/userPool:UserPool":
            state.setdefault("endpoint", f"cognito-idp.{REGION}.amazonaws.com/{REGION}_pool")
        if args.typ == "aws:apigatewayv2/api:Api":
            state.setdefault(
                "apiEndpoint", f"https://{args.name}.execute-api.{REGION}.amazonaws.com"
            )
        if args.typ == "aws:rds/cluster:Cluster":
            state.setdefault("endpoint", f"{args.name}.cluster-mock.{REGION}.rds.amazonaws.com")
            state.setdefault("port", 5432)
            if args.inputs.get("manageMasterUserPassword"):
                secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-{args.name}"
                state.setdefault(
                    "masterUserSecrets",
                    [{"secretArn": secret, "secretStatus": "active", "kmsKeyId": ""}],
                )
        # ECS ARNs keep their real shape: policies derive task and revision patterns from them.
        if args.typ == "aws:ecs/cluster:Cluster":
            state["arn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{state['name']}"
        if args.typ == "aws:ecs/taskDefinition:TaskDefinition":
            family = args.inputs.get("family", args.name)
            state["arn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1"
            state.setdefault("revision", 1)
        if args.typ == "aws:apigatewayv2/api:Api":
            state.setdefault(
                "executionArn", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{args.name}-id"
            )
        if args.typ == "aws:lambda/function:Function":
            function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{state['name']}"
            state.setdefault("arn", function_arn)
            state.setdefault("version", "1")
            state.setdefault("qualifiedArn", f"{function_arn}:1")
            state.setdefault("invokeArn", _invoke_arn(function_arn))
        if args.typ == "aws:lambda/alias:Alias":
            alias_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn:{state['name']}"
            state["arn"] = alias_arn
            state.setdefault("invokeArn", _invoke_arn(alias_arn))
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state.setdefault("dnsName", f"{args.name}.elb.{REGION}.amazonaws.com")
        if args.typ == "docker-build:index:Image":
            state.setdefault("digest", "sha256:" + "0" * 64)
            tags = args.inputs.get("tags") or []
            state.setdefault("ref", f"{tags[0]}@sha256:{'0' * 64}" if tags else "")
        if args.typ in self.states:
            for key, value in self.states[args.typ](args.name, dict(args.inputs)).items():
                state.setdefault(key, value)
        self.stack.resources.append(Resource(args.typ, args.name, dict(args.inputs), rid))
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.stack.calls.append((args.token, dict(args.args)))
        token = args.token
        if token in self.calls:
            return self.calls[token](dict(args.args))
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
            return {"names": names, "zoneIds": [f"euw3-az{i}" for i in (1, 2, 3)], "id": REGION}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "id": ACCOUNT,
                "userId": "test",
            }
        if token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "token",
                "authorizationToken": "QVdTOnRva2Vu",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
                "expiresAt": "2030-01-01T00:00:00Z",
                "id": REGION,
                "registryId": ACCOUNT,
            }
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}


def run_program(
    program: Callable[[], Any],
    *,
    config: dict[str, str] | None = None,
    calls: Calls | None = None,
    states: States | None = None,
) -> Stack:
    """Run ``program`` under mocks; ``config`` keys are full (``mlops:compute``); ``calls``
    and ``states`` add a cloud's invokes and computed resource attributes."""
    stack = Stack()
    pulumi.runtime.set_all_config({"aws:region": REGION, **(config or {})})
    pulumi.runtime.set_mocks(
        RecordingMocks(stack, calls, states), project=PROJECT, stack=STACK, preview=False
    )

    original_export = pulumi.export

    def record_export(name: str, value: Any) -> None:
        stack.outputs[name] = value

    @pulumi.runtime.test
    def run() -> Any:
        pulumi.export = record_export  # type: ignore[assignment]
        try:
            program()
        finally:
            pulumi.export = original_export  # type: ignore[assignment]
        # Resolve exported Outputs into plain values before the run ends.
        keys = list(stack.outputs)
        return pulumi.Output.all(*[stack.outputs[k] for k in keys]).apply(
            lambda values: stack.outputs.update(dict(zip(keys, values, strict=True)))
        )

    run()
    return stack
