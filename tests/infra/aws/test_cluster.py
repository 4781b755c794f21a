"""Cluster: ECS with Container Insights and the private DNS namespace."""

from __future__ import annotations

import pulumi
import pytest

from infra.aws.cluster import Cluster, ClusterArgs
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def stack() -> Stack:
    def program() -> None:
        cluster = Cluster("ecs", ClusterArgs(vpc_id="vpc-1", namespace="mlops.internal"))
        pulumi.export("cluster_arn", cluster.cluster_arn)
        pulumi.export("namespace", cluster.namespace_name)

    return run_program(program)


def test_container_insights_are_on(stack: Stack) -> None:
    cluster = stack.one("aws:ecs/cluster:Cluster").inputs
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert stack.outputs["cluster_arn"] == "arn:aws:ecs:eu-west-3:123456789012:cluster/ecs-cluster"


def test_services_get_private_names_in_the_vpc(stack: Stack) -> None:
    namespace = stack.one("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace").inputs
    assert (namespace["name"], namespace["vpc"]) == ("mlops.internal", "vpc-1")
    assert stack.outputs["namespace"] == "mlops.internal"
