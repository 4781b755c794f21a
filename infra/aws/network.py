"""The VPC: public and private subnets over several AZs, NAT, and flow logs.

Example::

    net = Network("net", NetworkArgs(az_count=2, nat_gateways="one"))
    net.private_subnet_ids  # where every workload runs
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
from pulumi_aws import cloudwatch, ec2, get_availability_zones

from infra.aws.choices import NAT_MODES
from infra.aws.iam import Statement, policy_document, workload_role


def carve_subnets(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private CIDRs, one of each per AZ, 16 equal blocks of the VPC range.

    The first half of the blocks is kept for public subnets, the second for private
    ones, so adding an AZ later never renumbers an existing subnet.
    """
    network = ipaddress.ip_network(cidr)
    blocks = list(network.subnets(prefixlen_diff=4))
    half = len(blocks) // 2
    if az_count > half:
        raise ValueError(f"{cidr} holds at most {half} AZs of subnets; got az_count={az_count}")
    return (
        [str(block) for block in blocks[:az_count]],
        [str(block) for block in blocks[half : half + az_count]],
    )


def _pick_zones(count: int) -> list[str]:
    zones = get_availability_zones(state="available").names
    if len(zones) < count:
        raise ValueError(
            f"az_count={count} but the region has {len(zones)} available AZs ({zones}); "
            "lower mlops:azCount."
        )
    return list(zones[:count])


@dataclass
class NetworkArgs:
    az_count: int = 2
    cidr_block: str = "10.0.0.0/16"
    # "one" shares a NAT gateway (cheaper); "per-az" survives the loss of an AZ.
    nat_gateways: str = "one"
    log_retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    cidr_block: str
    availability_zones: list[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_gateway_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.az_count < 2:
            raise ValueError(f"az_count must be at least 2 (got {args.az_count})")
        if args.nat_gateways not in NAT_MODES:
            raise ValueError(f"nat_gateways must be one of {NAT_MODES}, got {args.nat_gateways!r}")
        public_cidrs, private_cidrs = carve_subnets(args.cidr_block, args.az_count)
        zones = _pick_zones(args.az_count)
        super().__init__("mlops:aws:Network", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        self.availability_zones = zones
        self.cidr_block = args.cidr_block
        vpc = ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**args.tags, "Name": f"{name}-vpc"},
            opts=self._child,
        )
        # The default group starts with allow-all rules; an empty one forces explicit groups.
        ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, tags=self._tags("default"), opts=self._child
        )
        public = self._build_public(vpc, public_cidrs)
        nats = self._build_nat(public)
        private = self._build_private(vpc, private_cidrs, nats)
        self._build_flow_logs(vpc)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats])
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "nat_gateway_ids": self.nat_gateway_ids,
            }
        )

    def _tags(self, role: str) -> dict[str, str]:
        return {**self._args.tags, "Name": f"{self._name}-{role}"}

    def _build_public(self, vpc: ec2.Vpc, cidrs: list[str]) -> list[ec2.Subnet]:
        name = self._name
        igw = ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=self._tags("igw"), opts=self._child
        )
        table = ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=self._tags("public"), opts=self._child
        )
        ec2.Route(
            f"{name}-public-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=self._child,
        )
        subnets = []
        for index, (zone, cidr) in enumerate(zip(self.availability_zones, cidrs, strict=True)):
            subnet = ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                # Only the NAT gateways live here; nothing gets a public IP by accident.
                map_public_ip_on_launch=False,
                tags={**self._tags(f"public-{zone}"), "tier": "public"},
                opts=self._child,
            )
            ec2.RouteTableAssociation(
                f"{name}-public-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._child,
            )
            subnets.append(subnet)
        return subnets

    def _build_nat(self, public: list[ec2.Subnet]) -> list[ec2.NatGateway]:
        count = len(public) if self._args.nat_gateways == "per-az" else 1
        nats = []
        for index in range(count):
            eip = ec2.Eip(
                f"{self._name}-nat-{index}",
                domain="vpc",
                tags=self._tags(f"nat-{index}"),
                opts=self._child,
            )
            nats.append(
                ec2.NatGateway(
                    f"{self._name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=public[index].id,
                    tags=self._tags(f"nat-{index}"),
                    opts=self._child,
                )
            )
        return nats

    def _build_private(
        self, vpc: ec2.Vpc, cidrs: list[str], nats: list[ec2.NatGateway]
    ) -> list[ec2.Subnet]:
        name = self._name
        subnets = []
        for index, (zone, cidr) in enumerate(zip(self.availability_zones, cidrs, strict=True)):
            subnet = ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**self._tags(f"private-{zone}"), "tier": "private"},
                opts=self._child,
            )
            table = ec2.RouteTable(
                f"{name}-private-rt-{index}",
                vpc_id=vpc.id,
                tags=self._tags(f"private-{zone}"),
                opts=self._child,
            )
            ec2.Route(
                f"{name}-private-default-{index}",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[index % len(nats)].id,
                opts=self._child,
            )
            ec2.RouteTableAssociation(
                f"{name}-private-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._child,
            )
            subnets.append(subnet)
        return subnets

    def _build_flow_logs(self, vpc: ec2.Vpc) -> None:
        name = self._name
        group = cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=self._args.log_retention_days,
            tags=self._args.tags,
            opts=self._child,
        )
        role, _ = workload_role(
            f"{name}-flow-logs",
            service="vpc-flow-logs.amazonaws.com",
            policy=policy_document(
                [
                    Statement(
                        actions=[
                            "logs:CreateLogStream",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        resources=[group.arn, pulumi.Output.concat(group.arn, ":*")],
                    )
                ]
            ),
            tags=self._args.tags,
            opts=self._child,
        )
        ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=self._tags("flow-log"),
            opts=self._child,
        )
