"""A VPC for the workloads that talk to the stack's MLflow server.

MLflow's Cloud Run service takes internal traffic only; a request from another Cloud
Run workload is internal when it leaves through a VPC subnet (Direct VPC egress, all
traffic) with Private Google Access on. The subnet reaches Google APIs that way, and
Cloud NAT gives it the public internet (an OIDC issuer's keys, pip mirrors...).

Only stacks that run MLflow create it; with ``mlflowTrackingUri`` set the workloads use
Cloud Run's default egress and none of this exists.

Example::

    net = Network("net", NetworkArgs(project="p", region="europe-west1"))
    VpcEgress(network=net.network_id, subnetwork=net.subnetwork_id)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from infra.gcp.cloud_run import VpcEgress
from infra.gcp.foundation import child_opts


@dataclass
class NetworkArgs:
    project: str
    region: str
    # Direct VPC egress takes addresses from here: a /24 holds ~100 instances at once.
    cidr: str = "10.8.0.0/24"


class Network(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    subnetwork_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Network", name, None, opts)
        child = child_opts(self, opts)
        network = compute.Network(
            f"{name}-vpc",
            project=args.project,
            auto_create_subnetworks=False,
            opts=child,
        )
        subnetwork = compute.Subnetwork(
            f"{name}-subnet",
            project=args.project,
            region=args.region,
            network=network.id,
            ip_cidr_range=args.cidr,
            private_ip_google_access=True,
            opts=child,
        )
        router = compute.Router(
            f"{name}-router",
            project=args.project,
            region=args.region,
            network=network.id,
            opts=child,
        )
        compute.RouterNat(
            f"{name}-nat",
            project=args.project,
            region=args.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": subnetwork.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child,
        )
        self.network_id = network.id
        self.subnetwork_id = subnetwork.id
        self.register_outputs({"network_id": self.network_id, "subnetwork_id": self.subnetwork_id})

    @property
    def egress(self) -> VpcEgress:
        return VpcEgress(network=self.network_id, subnetwork=self.subnetwork_id)
