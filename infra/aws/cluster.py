"""The ECS cluster every task runs in, and the private DNS namespace services register in.

Example::

    cluster = Cluster("ecs", ClusterArgs(vpc_id=net.vpc_id, namespace="mlops.internal"))
    cluster.namespace_name  # services answer at <service>.mlops.internal
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_aws import ecs, servicediscovery


@dataclass
class ClusterArgs:
    vpc_id: pulumi.Input[str]
    namespace: str = "mlops.internal"
    tags: dict[str, str] = field(default_factory=dict)


class Cluster(pulumi.ComponentResource):
    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    namespace_id: pulumi.Output[str]
    namespace_arn: pulumi.Output[str]
    namespace_name: str

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enabled"}],
            tags=args.tags,
            opts=child,
        )
        namespace = servicediscovery.PrivateDnsNamespace(
            f"{name}-namespace",
            name=args.namespace,
            vpc=args.vpc_id,
            description="Private names of the stack's services (mlflow...)",
            tags=args.tags,
            opts=child,
        )
        self.cluster_arn = cluster.arn
        self.cluster_name = cluster.name
        self.namespace_id = namespace.id
        self.namespace_arn = namespace.arn
        self.namespace_name = args.namespace
        self.register_outputs(
            {
                "cluster_arn": self.cluster_arn,
                "cluster_name": self.cluster_name,
                "namespace_id": self.namespace_id,
                "namespace_name": self.namespace_name,
            }
        )
