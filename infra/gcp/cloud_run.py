"""Pieces every Cloud Run workload of the stack shares: resource limits, VPC egress and
invoker bindings.

No service is ever invocable by ``allUsers``: invokers are named service accounts bound
with ``roles/run.invoker`` on the one service (:func:`bind_invokers`).

Example::

    template = {"containers": [{"image": image, "resources": limits(1, 2048)}],
                "vpc_access": vpc_egress(network)}
    bind_invokers("app", service, [gateway_member], project, region, opts)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_gcp import cloudrunv2

INVOKER_ROLE = "roles/run.invoker"
INGRESS_ALL = "INGRESS_TRAFFIC_ALL"
INGRESS_INTERNAL = "INGRESS_TRAFFIC_INTERNAL_ONLY"


def limits(cpu: int, memory_mib: int) -> dict[str, str]:
    return {"cpu": str(cpu), "memory": f"{memory_mib}Mi"}


@dataclass(frozen=True)
class VpcEgress:
    """A subnet the workload sends its traffic through (Direct VPC egress)."""

    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]


def vpc_egress(egress: VpcEgress | None) -> cloudrunv2.ServiceTemplateVpcAccessArgsDict | None:
    """All traffic through the subnet: a Cloud Run service with internal ingress (MLflow)
    counts a request as internal only when it arrives from the VPC, and ``*.run.app``
    addresses are public ones, so "private ranges only" would bypass the VPC."""
    if egress is None:
        return None
    return {
        "network_interfaces": [{"network": egress.network, "subnetwork": egress.subnetwork}],
        "egress": "ALL_TRAFFIC",
    }


def bind_invokers(
    prefix: str,
    service: cloudrunv2.Service,
    members: Sequence[pulumi.Input[str]],
    *,
    project: str,
    region: str,
    opts: pulumi.ResourceOptions,
) -> list[cloudrunv2.ServiceIamMember]:
    """``roles/run.invoker`` on ``service`` for each member (``<prefix>-invoker-<i>``)."""
    return [
        cloudrunv2.ServiceIamMember(
            f"{prefix}-invoker-{index}",
            project=project,
            location=region,
            name=service.name,
            role=INVOKER_ROLE,
            member=member,
            opts=opts,
        )
        for index, member in enumerate(members)
    ]
