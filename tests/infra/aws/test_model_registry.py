"""ModelRegistry: MLflow on private Fargate, Aurora Serverless v2 with an RDS-managed password."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.aws import model_registry
from infra.aws.model_registry import HEALTH_PATH, ModelRegistry, ModelRegistryArgs
from tests.infra.aws.policy_checks import assert_least_privilege, statements
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECRET = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:rds!cluster-registry-db"
CLIENTS = ["sg-app", "sg-ocr", "sg-train"]


def _args(**overrides: object) -> ModelRegistryArgs:
    values: dict[str, object] = {
        "vpc_id": "vpc-1",
        "vpc_cidr": "10.0.0.0/16",
        "private_subnet_ids": ["subnet-a", "subnet-b"],
        "cluster_arn": "arn:aws:ecs:eu-west-3:123456789012:cluster/mlops",
        "cluster_name": "mlops",
        "namespace_id": "ns-1",
        "namespace_name": "mlops.internal",
        "image": "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:1",
        "artifacts_bucket_name": "artifacts",
        "artifacts_bucket_arn": "arn:aws:s3:::artifacts",
        "client_security_group_ids": CLIENTS,
        "load_balancer_arn": "arn:aws:elasticloadbalancing:eu-west-3:123456789012:nlb",
    }
    values.update(overrides)
    return ModelRegistryArgs(**values)  # type: ignore[arg-type]


def _program(args: ModelRegistryArgs) -> None:
    registry = ModelRegistry("registry", args)
    pulumi.export("tracking_uri", registry.tracking_uri)
    pulumi.export("db_secret_arn", registry.db_secret_arn)
    pulumi.export("target_group_arn", registry.target_group_arn)
    pulumi.export("security_group_id", registry.security_group_id)
    pulumi.export("port", registry.port)


@pytest.fixture(scope="module")
def stack() -> Stack:
    return run_program(lambda: _program(_args()))


def _container(stack: Stack) -> dict[str, Any]:
    (container,) = stack.one("aws:ecs/taskDefinition:TaskDefinition").json("containerDefinitions")
    return container


def _ingress(stack: Stack, group_id: str) -> list[dict[str, Any]]:
    return [
        r.inputs
        for r in stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == group_id
    ]


# Database --------------------------------------------------------------------------------


def test_aurora_serverless_v2_keeps_its_own_password_encrypted(stack: Stack) -> None:
    cluster = stack.one("aws:rds/cluster:Cluster").inputs
    assert (cluster["engine"], cluster["engineMode"]) == ("aurora-postgresql", "provisioned")
    assert cluster["manageMasterUserPassword"] is True
    assert "masterPassword" not in cluster
    assert cluster["storageEncrypted"] is True
    assert cluster["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 2}
    assert cluster["backupRetentionPeriod"] >= 1
    assert cluster["deletionProtection"] is True
    assert cluster["skipFinalSnapshot"] is False and cluster["finalSnapshotIdentifier"]
    assert cluster["dbSubnetGroupName"] == "registry-db-subnets"
    assert stack.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == [
        "subnet-a",
        "subnet-b",
    ]


def test_the_database_instance_is_serverless_and_not_public(stack: Stack) -> None:
    instance = stack.one("aws:rds/clusterInstance:ClusterInstance").inputs
    assert instance["instanceClass"] == "db.serverless"
    assert instance["publiclyAccessible"] is False


def test_only_the_mlflow_server_reaches_the_database(stack: Stack) -> None:
    (cluster_sg,) = stack.one("aws:rds/cluster:Cluster").inputs["vpcSecurityGroupIds"]
    (rule,) = _ingress(stack, cluster_sg)
    assert rule["referencedSecurityGroupId"] == "registry-mlflow-sg-id"
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (5432, 5432, "tcp")


# Server ----------------------------------------------------------------------------------


def test_the_server_has_no_public_ip(stack: Stack) -> None:
    service = stack.one("aws:ecs/service:Service").inputs
    network = service["networkConfiguration"]
    assert network["assignPublicIp"] is False
    assert network["subnets"] == ["subnet-a", "subnet-b"]
    assert network["securityGroups"] == ["registry-mlflow-sg-id"]
    assert service["launchType"] == "FARGATE"


def test_the_db_password_comes_from_the_rds_secret_only(stack: Stack) -> None:
    container = _container(stack)
    assert container["secrets"] == [{"name": "PGPASSWORD", "valueFrom": f"{SECRET}:password::"}]
    plain = json.dumps([container["environment"], container["command"]]).lower()
    assert "password" not in plain
    execution = statements(stack.named("registry-mlflow-execution-policy").inputs["policy"])
    readers = [s for s in execution if "secretsmanager:GetSecretValue" in s["Action"]]
    assert [s["Resource"] for s in readers] == [[SECRET]]


def test_the_server_command_follows_the_contract(stack: Stack) -> None:
    shell, flag, script = _container(stack)["command"]
    assert (shell, flag) == ("sh", "-c")
    assert script.startswith("exec mlflow server ")
    for part in (
        "--host 0.0.0.0",
        "--port 5000",
        "--static-prefix /mlflow",
        '--backend-store-uri "postgresql://${DB_USER}@${DB_HOST}:${DB_PORT}/${DB_NAME}',
        '--default-artifact-root "s3://${ARTIFACTS_BUCKET}/mlflow"',
        "--no-serve-artifacts",
    ):
        assert part in script
    environment = {e["name"]: e["value"] for e in _container(stack)["environment"]}
    assert environment["DB_HOST"] == "registry-db.cluster-mock.eu-west-3.rds.amazonaws.com"
    assert environment["ARTIFACTS_BUCKET"] == "artifacts"
    assert "mlflow.mlops.internal:5000" in environment["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")


def test_the_health_check_path_is_mlflows_route_under_the_prefix(stack: Stack) -> None:
    target_group = stack.one("aws:lb/targetGroup:TargetGroup").inputs
    assert (target_group["targetType"], target_group["port"]) == ("ip", 5000)
    assert target_group["healthCheck"]["path"] == HEALTH_PATH == "/mlflow/health"
    # The route as the installed MLflow registers it, read without importing MLflow.
    spec = importlib.util.find_spec("mlflow")
    if spec is None or spec.origin is None:
        pytest.skip("mlflow is not installed")
    server = Path(spec.origin).parent / "server" / "__init__.py"
    assert '@app.route(_add_static_prefix("/health"))' in server.read_text()


def test_mlflow_accepts_port_5000_from_its_clients_and_the_vpc_only(stack: Stack) -> None:
    rules = _ingress(stack, "registry-mlflow-sg-id")
    assert {(r["fromPort"], r["toPort"], r["ipProtocol"]) for r in rules} == {(5000, 5000, "tcp")}
    sources = {r.get("referencedSecurityGroupId") or r.get("cidrIpv4") for r in rules}
    assert sources == {*CLIENTS, "10.0.0.0/16"}


def test_given_the_nlbs_group_the_vpc_cidr_is_not_admitted() -> None:
    stack = run_program(lambda: _program(_args(load_balancer_security_group_id="sg-nlb")))
    rules = _ingress(stack, "registry-mlflow-sg-id")
    sources = {r.get("referencedSecurityGroupId") or r.get("cidrIpv4") for r in rules}
    assert sources == {*CLIENTS, "sg-nlb"}


def test_the_server_registers_as_mlflow_in_the_namespace(stack: Stack) -> None:
    discovery = stack.one("aws:servicediscovery/service:Service").inputs
    assert discovery["name"] == "mlflow"
    assert discovery["dnsConfig"]["namespaceId"] == "ns-1"
    service = stack.one("aws:ecs/service:Service").inputs
    assert service["serviceRegistries"]["registryArn"].endswith("registry-mlflow-discovery")


def test_outputs(stack: Stack) -> None:
    assert stack.outputs["tracking_uri"] == "http://mlflow.mlops.internal:5000/mlflow"
    assert stack.outputs["db_secret_arn"] == SECRET
    assert stack.outputs["port"] == 5000
    assert stack.outputs["security_group_id"] == "registry-mlflow-sg-id"


def test_the_nlb_listener_forwards_to_the_server(stack: Stack) -> None:
    listener = stack.one("aws:lb/listener:Listener").inputs
    assert (listener["port"], listener["protocol"]) == (5000, "TCP")
    (action,) = listener["defaultActions"]
    assert action["targetGroupArn"] == stack.outputs["target_group_arn"]
    (attached,) = stack.one("aws:ecs/service:Service").inputs["loadBalancers"]
    assert attached == {
        "targetGroupArn": stack.outputs["target_group_arn"],
        "containerName": "mlflow",
        "containerPort": 5000,
    }


def test_the_service_waits_for_the_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    # ECS refuses a service whose target group no listener forwards to yet.
    seen: list[object] = []
    original = model_registry.ecs.Service

    def spy(name: str, *args: object, opts: pulumi.ResourceOptions, **kwargs: object) -> object:
        seen.extend(opts.depends_on or [])
        return original(name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(model_registry.ecs, "Service", spy)
    run_program(lambda: _program(_args()))
    assert any(isinstance(d, model_registry.lb.Listener) for d in seen)


def test_without_a_load_balancer_the_server_is_reached_through_cloud_map_only() -> None:
    stack = run_program(lambda: _program(_args(load_balancer_arn=None)))
    assert not stack.of_type("aws:lb/listener:Listener")
    assert not stack.of_type("aws:lb/targetGroup:TargetGroup")
    assert not stack.one("aws:ecs/service:Service").inputs.get("loadBalancers")


def test_the_roles_are_least_privilege(stack: Stack) -> None:
    assert_least_privilege(stack)
    task = statements(stack.named("registry-mlflow-task-policy").inputs["policy"])
    actions = {a for s in task for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:ListBucket"}, "the server only reads artifacts"


@pytest.mark.parametrize(
    "overrides", [{"cpu": 512, "memory": 512}, {"min_capacity": 4, "max_capacity": 2}]
)
def test_arguments_aws_would_refuse_fail_early(overrides: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        _args(**overrides)
